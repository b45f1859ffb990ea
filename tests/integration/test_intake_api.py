"""Contact intake and campaign status over HTTP, on a real PostgreSQL."""

import pytest
from sqlalchemy import func, select, update

from dialer.adapters.models import CallAttempt, Campaign, Contact
from tests.conftest import make_settings
from tests.contact_payloads import FLAT_EXAMPLE, SPEC_EXAMPLE, flat, flat_contacts, spec_example

ALL_STATUSES = ("pending", "queued", "agent_pending", "dialed", "ended", "stopped", "failed", "removed")


def stored_contacts(session):
    return session.scalar(select(func.count()).select_from(Contact))


def stored_campaigns(session):
    return session.scalar(select(func.count()).select_from(Campaign))


def test_the_spec_example_payload_is_stored_and_read_back_field_by_field(client, auth):
    posted = client.post("/contacts", json=SPEC_EXAMPLE, headers=auth)
    assert posted.status_code == 201
    got = client.get(f"/contacts/{SPEC_EXAMPLE['id']}", headers=auth)
    assert got.status_code == 200
    assert posted.get_json() == got.get_json()
    contact = got.get_json()
    received = contact.pop("received_time")
    assert received.endswith("+00:00")
    assert contact == {
        "id": "aba035c8-b9a9-4d9b-ae40-6fc9a9c02c07",
        "customer_number": "1001",
        "campaign_type": "AGENT",
        "gateway_id": "4d995f13-f90a-4bc9-8045-23809a34f82e",
        "status": "pending",
        "call_result": None,
        "dial_time": None,
        "campaign_contact_id": "contact-123",
        "campaign_id": "123456789",
        "start_time": "2023-04-10T06:00:01+00:00",
        "end_time": "2023-04-10T17:00:01+00:00",
        "priority": 1,
        "ivr": "6666",
        "dialing_mode": "PROGRESSIVE",
        "routing_mode": "QUEUE",
        "resource_id": "7bn473-c34de35c-v54nv5u43-5dlh68c",
        "queue_name": None,
        "scheduled_time": "2023-04-10T19:55:00+00:00",
        "service_identifier": "1218",
        "customer_ref": "61c2b22725dadf1a1050c582",
        "answer_time": None,
        "hangup_time": None,
        "billsec": None,
        "agent": None,
        "timezone": None,
        "e164": "+11001",  # no country code: DIALER_DEFAULT_REGION's (US)
        "disposition": None,
        "dial_after": "2023-04-10T19:55:00+00:00",
        "attempts": [],
        "payload": SPEC_EXAMPLE,
    }


def test_the_flat_form_is_stored_and_read_back_field_by_field(client, auth):
    assert client.post("/contacts", json=FLAT_EXAMPLE, headers=auth).status_code == 201
    contact = client.get(f"/contacts/{FLAT_EXAMPLE['id']}", headers=auth).get_json()
    expected = {**FLAT_EXAMPLE, "start_time": "2030-01-01T09:00:00+00:00",
                "end_time": "2030-01-01T17:00:00+00:00", "scheduled_time": "2030-01-01T08:00:00+00:00",
                "status": "pending", "dialing_mode": None, "routing_mode": None, "resource_id": None,
                "queue_name": None, "customer_ref": None}
    assert {key: contact[key] for key in expected} == expected
    assert contact["payload"] == FLAT_EXAMPLE


def test_the_stored_row_holds_timestamptz_values_and_dial_after(client, auth, session):
    client.post("/contacts", json=SPEC_EXAMPLE, headers=auth)
    contact = session.get(Contact, SPEC_EXAMPLE["id"])
    assert contact.start_time.utcoffset() is not None
    assert contact.dial_after.isoformat() == "2023-04-10T19:55:00+00:00"  # the scheduled time is later


def test_a_contact_is_returned_with_its_call_attempts(client, auth, session):
    client.post("/contacts", json=FLAT_EXAMPLE, headers=auth)
    session.add(CallAttempt(contact_id=FLAT_EXAMPLE["id"], attempt=1, uuid=FLAT_EXAMPLE["id"],
                            job_uuid="job-1", switch_name="sw1", kind="IVR", hangup_cause="USER_BUSY"))
    session.commit()
    attempts = client.get(f"/contacts/{FLAT_EXAMPLE['id']}", headers=auth).get_json()["attempts"]
    assert len(attempts) == 1
    assert attempts[0]["uuid"] == FLAT_EXAMPLE["id"]
    assert attempts[0]["hangup_cause"] == "USER_BUSY"
    assert attempts[0]["created_at"].endswith("+00:00")


def test_an_unknown_contact_is_a_404(client, auth):
    response = client.get("/contacts/no-such-contact", headers=auth)
    assert response.status_code == 404
    assert response.get_json() == {"error": "no contact with id 'no-such-contact'"}


def test_posting_the_same_id_again_answers_200_with_the_stored_contact_and_stores_nothing(
        client, auth, session):
    first = client.post("/contacts", json=FLAT_EXAMPLE, headers=auth)
    again = client.post("/contacts", json=flat(customer_number="999", priority=9), headers=auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert again.get_json()["customer_number"] == FLAT_EXAMPLE["customer_number"]
    assert stored_contacts(session) == 1


def test_a_contact_of_a_stopped_campaign_arrives_stopped(client, auth, session):
    session.add(Campaign(id="summer-ivr", state="stopped"))
    session.commit()
    assert client.post("/contacts", json=FLAT_EXAMPLE, headers=auth).get_json()["status"] == "stopped"


def test_a_contact_creates_its_campaign_running(client, auth, session):
    client.post("/contacts", json=FLAT_EXAMPLE, headers=auth)
    assert session.get(Campaign, "summer-ivr").state == "running"


AGENT = dict(campaign_type="AGENT", dialing_mode="PREVIEW", routing_mode="AGENT", resource_id="agent-1")
QUEUE_AGENT = {**AGENT, "routing_mode": "QUEUE"}
REQUIRED = "required: every contact needs this field"
TIME = "must be an ISO-8601 date-time with a UTC offset, e.g. 2023-04-10T09:00:01+03:00"
PRIORITY = "must be a whole number from 1 to 10 (1 is dialed first)"
AFTER_START = "must be later than the start time"
ESL = "not allowed in a switch command: "
NUMBER = ESL + "digits only, optionally after a leading +, at most 20"
SAFE_ID = ESL + "letters, digits, '.', '_' or '-' only, at most 40, not starting with a symbol"
META = "header.shedulingMetaData."
RULES = [
    # (name, payload, field, reason)
    ("missing id", flat(id=None), "id", REQUIRED),
    ("missing customer number", flat(customer_number=None), "customer_number", REQUIRED),
    ("missing campaign id", flat(campaign_id=None), "campaign_id", REQUIRED),
    ("missing campaign type", flat(campaign_type=None), "campaign_type", REQUIRED),
    ("missing gateway id", flat(gateway_id=None), "gateway_id", REQUIRED),
    ("missing start", flat(start_time=None), "start_time", REQUIRED),
    ("missing end", flat(end_time=None), "end_time", REQUIRED),
    ("missing priority", flat(priority=None), "priority", REQUIRED),
    ("empty customer number", flat(customer_number=""), "customer_number", REQUIRED),
    ("number not a string", flat(customer_number=1001), "customer_number", "must be a string"),
    ("time without offset", flat(start_time="2030-01-01T09:00:00"), "start_time", TIME),
    ("time not a time", flat(end_time="tomorrow"), "end_time", TIME),
    ("end before start", flat(end_time="2030-01-01T08:00:00+00:00"), "end_time", AFTER_START),
    ("end equal to start", flat(end_time="2030-01-01T11:00:00+02:00"), "end_time", AFTER_START),
    ("priority 0", flat(priority=0), "priority", PRIORITY),
    ("priority 11", flat(priority="11"), "priority", PRIORITY),
    ("unknown campaign type", flat(campaign_type="SMS"), "campaign_type", "must be IVR or AGENT"),
    ("agent without dialing mode", flat(**{**AGENT, "dialing_mode": None}), "dialing_mode",
     "required for AGENT campaigns: must be one of PREDICTIVE, PREVIEW, PROGRESSIVE"),
    ("unknown dialing mode", flat(**{**AGENT, "dialing_mode": "AUTO"}), "dialing_mode",
     "must be one of PREDICTIVE, PREVIEW, PROGRESSIVE"),
    ("agent without routing mode", flat(**{**AGENT, "routing_mode": None}), "routing_mode",
     "required for AGENT campaigns: must be AGENT or QUEUE"),
    ("unknown routing mode", flat(**{**AGENT, "routing_mode": "SKILL"}), "routing_mode",
     "must be AGENT or QUEUE"),
    ("queue routing without resource or queue", flat(**{**QUEUE_AGENT, "resource_id": None}), "resource_id",
     "routing mode QUEUE needs a resource id or a queue name"),
    ("agent routing without resource", flat(**{**AGENT, "resource_id": None, "queue_name": "sales"}),
     "resource_id", "routing mode AGENT needs a resource id (the agent's id)"),
    ("number with a space", flat(customer_number="1001 &park"), "customer_number", NUMBER),
    ("number too long", flat(customer_number="+" + "1" * 20), "customer_number", NUMBER),
    ("id breaking the variables", flat(id="x,origination_caller_id_number=1"), "id", SAFE_ID),
    ("gateway with a slash", flat(gateway_id="gw1/1002"), "gateway_id", SAFE_ID),
    ("campaign id with a brace", flat(campaign_id="c}1"), "campaign_id", SAFE_ID),
    ("ivr with a space", flat(ivr="6666 XML public"), "ivr",
     ESL + "letters, digits, '*', '#', '+', '.', '_' or '-' only, at most 20"),
    ("queue with a quote", flat(**{**QUEUE_AGENT, "queue_name": "q' x"}), "queue_name",
     ESL + "letters, digits, spaces, '.', '_' or '-' only, at most 40"),
    ("resource id with a semicolon", flat(**{**AGENT, "resource_id": "a;b"}), "resource_id", SAFE_ID),
    ("nested: missing number", {**SPEC_EXAMPLE, "header": {**SPEC_EXAMPLE["header"], "channelData": {}}},
     "header.channelData.channelCustomerIdentifier", REQUIRED),
    ("nested: priority", spec_example(priority="0"), META + "priority", PRIORITY),
    ("nested: queue routing without resource or queue", spec_example(resourceId=None, queueName=""),
     META + "resourceId", "routing mode QUEUE needs a resource id or a queue name"),
    ("nested: start without offset", spec_example(startTime="2023-04-10T09:00:01"), META + "startTime", TIME),
]


@pytest.mark.parametrize("payload, field, reason", [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_an_invalid_contact_is_a_400_naming_the_field_and_rule_and_nothing_is_stored(
        client, auth, session, payload, field, reason):
    response = client.post("/contacts", json=payload, headers=auth)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid contact: nothing stored"
    assert reason in body["fields"][field]
    assert (stored_contacts(session), stored_campaigns(session)) == (0, 0)


def test_a_body_that_is_not_json_is_a_400(client, auth):
    response = client.post("/contacts", data="id=1&number=2", headers=auth)
    assert response.status_code == 400
    assert response.get_json() == {"error": "request body is not valid JSON"}


def test_a_list_posted_as_one_contact_is_a_400_pointing_to_bulk(client, auth):
    response = client.post("/contacts", json=[FLAT_EXAMPLE], headers=auth)
    assert response.status_code == 400
    assert "/contacts/bulk" in response.get_json()["error"]


@pytest.mark.parametrize("path, body", [("/contacts", FLAT_EXAMPLE), ("/contacts/bulk", [FLAT_EXAMPLE])])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": "test-api-token"}],
                         ids=["no token", "wrong token", "no bearer scheme"])
def test_posting_without_the_right_token_is_a_401_and_stores_nothing(client, session, path, body, headers):
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "missing or wrong bearer token"}
    assert stored_contacts(session) == 0


def test_bulk_stores_ten_thousand_contacts_in_one_request(client, auth, session):
    response = client.post("/contacts/bulk", json=flat_contacts(10_000), headers=auth)
    assert response.status_code == 201
    assert response.get_json() == {"created": 10_000, "existing": 0}
    assert stored_contacts(session) == 10_000


def test_bulk_accepts_both_forms_in_one_array(client, auth, session):
    response = client.post("/contacts/bulk", json=[SPEC_EXAMPLE, FLAT_EXAMPLE], headers=auth)
    assert response.get_json() == {"created": 2, "existing": 0}


def test_bulk_with_one_invalid_contact_stores_nothing_and_names_its_index_and_field(client, auth, session):
    contacts = flat_contacts(5)
    contacts[3]["customer_number"] = "+1 555"
    response = client.post("/contacts/bulk", json=contacts, headers=auth)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid contacts: nothing stored",
        "fields": {"3.customer_number": [ESL + "digits only, optionally after a leading +, at most 20"]},
    }
    assert (stored_contacts(session), stored_campaigns(session)) == (0, 0)


def test_bulk_counts_stored_ids_as_existing_and_duplicates_in_the_request_once(client, auth, session):
    client.post("/contacts", json=FLAT_EXAMPLE, headers=auth)
    fresh = flat_contacts(3)
    response = client.post("/contacts/bulk", json=[FLAT_EXAMPLE, *fresh, fresh[0], fresh[0]], headers=auth)
    assert response.get_json() == {"created": 3, "existing": 1}
    assert stored_contacts(session) == 4


def test_bulk_that_is_not_an_array_is_a_400(client, auth):
    response = client.post("/contacts/bulk", json=FLAT_EXAMPLE, headers=auth)
    assert response.status_code == 400
    assert response.get_json() == {"error": "expected a JSON array of contacts"}


def test_bulk_contacts_of_a_stopped_campaign_arrive_stopped(client, auth, session):
    session.add(Campaign(id="paused", state="stopped"))
    session.commit()
    contacts = flat_contacts(3, campaign_id="paused") + flat_contacts(2)
    client.post("/contacts/bulk", json=contacts, headers=auth)
    statuses = dict(session.execute(select(Contact.campaign_id, Contact.status).distinct()).all())
    assert statuses == {"paused": "stopped", "bulk": "pending"}


@pytest.fixture
def app_without_database(redis_url):
    from api import create_app

    app = create_app(make_settings("postgresql://postgres@127.0.0.1:1/none", redis_url))
    app.config["TESTING"] = True
    return app


@pytest.mark.parametrize("method, path, body", [
    ("post", "/contacts", FLAT_EXAMPLE), ("post", "/contacts/bulk", [FLAT_EXAMPLE]),
    ("get", "/contacts/x", None), ("get", "/campaigns", None), ("get", "/campaigns/x", None)])
def test_an_unreachable_database_is_a_503_with_a_clear_message(
        app_without_database, auth, method, path, body):
    response = getattr(app_without_database.test_client(), method)(path, json=body, headers=auth)
    assert response.status_code == 503
    assert response.get_json() == {"error": "database unavailable, try again later"}


def test_campaign_status_counts_its_contacts_in_every_status(client, auth, session):
    contacts = flat_contacts(4, campaign_id="c1") + flat_contacts(1, campaign_id="c2")
    client.post("/contacts/bulk", json=contacts, headers=auth)
    one = session.scalar(select(Contact.id).where(Contact.campaign_id == "c1").limit(1))
    session.execute(update(Contact).where(Contact.id == one).values(status="ended"))
    session.commit()
    response = client.get("/campaigns/c1", headers=auth)
    assert response.status_code == 200
    assert response.get_json() == {"campaign_id": "c1", "state": "running",
                                   "counts": {**dict.fromkeys(ALL_STATUSES, 0), "pending": 3, "ended": 1},
                                   "settings_version": 0, "waiting": {"window": 0, "retry": 0}, "dnc": 0,
                                   "dispositions": {}}


def test_the_campaign_list_has_every_campaign_in_id_order(client, auth, session):
    client.post("/contacts/bulk", json=flat_contacts(2, campaign_id="b") + flat_contacts(1, campaign_id="a"),
                headers=auth)
    session.add(Campaign(id="c-empty", state="stopped"))
    session.commit()
    campaigns = client.get("/campaigns", headers=auth).get_json()["campaigns"]
    assert [(c["campaign_id"], c["state"], c["counts"]["pending"]) for c in campaigns] == [
        ("a", "running", 1), ("b", "running", 2), ("c-empty", "stopped", 0)]
    assert all(list(c["counts"]) == list(ALL_STATUSES) for c in campaigns)


def test_an_unknown_campaign_is_a_404(client, auth):
    response = client.get("/campaigns/nope", headers=auth)
    assert response.status_code == 404
    assert response.get_json() == {"error": "no campaign with id 'nope'"}
