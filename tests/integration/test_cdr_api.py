"""`POST /cdr`: FreeSWITCH's mod_json_cdr records, sent as the real module sends them (raw JSON under a
form Content-Type, HTTP basic credentials, `?uuid=`), into the inbox beside the hangup events."""

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from dialer.adapters.models import CallEvent
from dialer.flows import inbox
from dialer.rules import states
from dialer.rules.event_messages import to_message
from tests.calls import contact, dial, hangup, outbox
from tests.factories import add_contacts

CAPTURED = Path(__file__).resolve().parents[2] / "sim" / "switch" / "captured" / "cdr"
USER, PASSWORD = "cdr", "cdr-secret"


@pytest.fixture
def settings(settings):
    return replace(settings, cdr_user=USER, cdr_password=PASSWORD)


def basic(user=USER, password=PASSWORD):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "User-Agent": "freeswitch-json/1.0",
            "Content-Type": "application/x-www-form-urlencoded"}  # what mod_json_cdr really sends


def busy_cdr(call, instance="dialer"):
    """The captured busy call's CDR, re-addressed to `call` (variables are URL-encoded strings)."""
    cdr = json.loads((CAPTURED / "json_cdr_busy.json").read_text())
    variables = cdr["variables"]
    for name in ("uuid", "call_uuid", "origination_uuid"):
        variables[name] = call.uuid
    variables["dialer_contact_id"] = call.contact_id
    variables["dialer_campaign_id"] = call.campaign_id
    if instance:
        variables["dialer_instance"] = instance
    return json.dumps(cdr)


@pytest.fixture
def call(session):
    [contact_id] = add_contacts(session, "camp-1", 1, status=states.QUEUED)
    return dial(session, contact_id)


def post(client, call, body, headers=None):
    return client.post(f"/cdr?uuid={call.uuid}", data=body, headers=basic() if headers is None else headers)


def record_inbox(session_factory, settings):
    with session_factory() as session:
        inbox.record_pending(session, settings)
        session.commit()


def inbox_rows(session):
    session.expire_all()
    return session.execute(select(CallEvent.kind, CallEvent.key, CallEvent.source)).all()


def test_a_cdr_records_the_calls_real_result(client, session, session_factory, settings, call):
    response = post(client, call, busy_cdr(call))

    assert response.status_code == 200
    assert response.get_json() == {"recorded": True, "uuid": call.uuid}
    record_inbox(session_factory, settings)
    ended = contact(session, call.contact_id)
    assert (ended.status, ended.call_result, ended.billsec) == (states.ENDED, "USER_BUSY", 0)
    assert [m.body["callResult"] for m in outbox(session)] == ["USER_BUSY"]


def test_the_same_cdr_posted_again_changes_nothing(client, session, session_factory, settings, call):
    post(client, call, busy_cdr(call))
    record_inbox(session_factory, settings)

    again = post(client, call, busy_cdr(call))  # mod_json_cdr retries a slow answer

    assert again.get_json() == {"recorded": False, "uuid": call.uuid}
    record_inbox(session_factory, settings)
    assert len(outbox(session)) == 1
    assert inbox_rows(session) == [("hangup", call.uuid, "cdr")]


def test_a_cdr_after_the_hangup_event_changes_nothing(client, session, session_factory, settings, call):
    with session_factory() as writing:
        inbox.store(writing, [to_message(hangup(call, "NORMAL_CLEARING"))], inbox.EVENT)
        writing.commit()
    record_inbox(session_factory, settings)

    response = post(client, call, busy_cdr(call))

    assert response.get_json()["recorded"] is False
    record_inbox(session_factory, settings)
    assert contact(session, call.contact_id).call_result == "NORMAL_CLEARING"  # the first to arrive wins
    assert inbox_rows(session) == [("hangup", call.uuid, "event")]


@pytest.mark.parametrize("headers", [{}, basic(password="wrong"), basic(user="other"),
                                     {"Authorization": "Bearer cdr-secret"}])
def test_a_cdr_without_the_right_credentials_is_refused_and_stores_nothing(client, session, call, headers):
    response = post(client, call, busy_cdr(call), headers=headers)

    assert response.status_code == 401
    assert "credentials" in response.get_json()["error"]
    assert inbox_rows(session) == []


@pytest.mark.parametrize("body, reason", [
    ("not json", "JSON"),
    ("[1, 2]", "object"),
    ('{"variables": {}}', "variables"),
])
def test_a_body_that_is_not_a_cdr_is_a_400_naming_what_is_wrong(client, session, call, body, reason):
    response = post(client, call, body)

    assert response.status_code == 400
    assert reason in response.get_json()["error"]
    assert inbox_rows(session) == []


def test_a_cdr_whose_uuid_differs_from_its_query_is_a_400(client, session, call):
    response = client.post("/cdr?uuid=someone-else", data=busy_cdr(call), headers=basic())

    assert response.status_code == 400
    assert inbox_rows(session) == []


def test_a_cdr_of_a_call_that_is_not_ours_is_accepted_and_ignored(client, session, call):
    # The switch posts every call's CDR; a non-2xx would only make it retry and spool the record.
    response = post(client, call, busy_cdr(call, instance="another-dialer"))

    assert response.status_code == 200
    assert response.get_json()["recorded"] is False
    assert inbox_rows(session) == []


def test_cdr_intake_is_off_without_credentials_configured(session_factory, database_url, redis_url, session, call):
    from api import create_app
    from tests.conftest import make_settings

    off = create_app(make_settings(database_url, redis_url)).test_client()

    response = post(off, call, busy_cdr(call))

    assert response.status_code == 404
    assert "DIALER_CDR_USER" in response.get_json()["error"]
