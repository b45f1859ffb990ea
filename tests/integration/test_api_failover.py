"""Failover rows answered by the HTTP API itself: database down → 503, unknown campaign → 404."""

import pytest

from api import create_app
from tests.conftest import make_settings
from tests.factories import add_contacts

UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:1/none"  # nothing listens on port 1


@pytest.fixture
def client_without_database(redis_url):
    app = create_app(make_settings(UNREACHABLE_DATABASE, redis_url))
    return app.test_client()


@pytest.mark.parametrize("action", ["stop", "start", "purge"])
def test_campaign_controls_answer_503_when_the_database_is_down(client_without_database, auth, action):
    response = client_without_database.post(f"/campaigns/c1/{action}", headers=auth)
    assert response.status_code == 503
    assert "database" in response.get_json()["error"]


def test_the_agent_callback_answers_503_when_the_database_is_down(client_without_database, connector_auth):
    response = client_without_database.post("/dialer-connector/agent", headers=connector_auth,
                                            json={"agent": "2001", "uuid": "c-1", "queue": "Sales"})
    assert response.status_code == 503


@pytest.mark.parametrize("action", ["stop", "start", "purge"])
def test_campaign_controls_answer_404_for_an_unknown_campaign(client, auth, action):
    response = client.post(f"/campaigns/nope/{action}", headers=auth)
    assert response.status_code == 404


def test_campaign_controls_need_the_api_token(client, connector_auth):
    assert client.post("/campaigns/c1/stop").status_code == 401
    assert client.post("/campaigns/c1/stop", headers=connector_auth).status_code == 403


def test_stop_start_purge_report_how_many_contacts_changed(client, auth, session):
    add_contacts(session, "c1", 4)
    assert client.post("/campaigns/c1/stop", headers=auth).get_json()["changed"] == 4
    assert client.get("/campaigns/c1", headers=auth).get_json()["counts"]["stopped"] == 4
    assert client.post("/campaigns/c1/start", headers=auth).get_json()["changed"] == 4
    assert client.post("/campaigns/c1/purge", headers=auth).get_json()["changed"] == 4
    assert client.get("/campaigns/c1", headers=auth).get_json()["counts"]["removed"] == 4


def test_the_agent_callback_needs_the_connector_token(client, auth):
    response = client.post("/dialer-connector/agent", headers=auth,
                           json={"agent": "2001", "uuid": "c-1", "queue": "Sales"})
    assert response.status_code == 403


def test_the_agent_callback_rejects_values_that_could_reach_an_esl_command(client, connector_auth):
    response = client.post("/dialer-connector/agent", headers=connector_auth,
                           json={"agent": "2001}&park()", "uuid": "c-1", "queue": "Sales'"})
    assert response.status_code == 400
    assert set(response.get_json()["fields"]) == {"agent", "queue"}


def test_the_agent_callback_for_an_unknown_contact_is_404(client, connector_auth):
    response = client.post("/dialer-connector/agent", headers=connector_auth,
                           json={"agent": "2001", "uuid": "c-1", "queue": "Sales"})
    assert response.status_code == 404


def test_a_callback_for_a_contact_not_waiting_for_an_agent_is_409_and_changes_nothing(
        client, connector_auth, auth, session):
    [contact_id] = add_contacts(session, "c1", 1, campaign_type="AGENT")
    response = client.post("/dialer-connector/agent", headers=connector_auth,
                           json={"agent": "2001", "uuid": contact_id, "queue": "Sales"})
    assert response.status_code == 409
    assert client.get(f"/contacts/{contact_id}", headers=auth).get_json()["status"] == "pending"


def test_an_empty_agent_puts_the_contact_back_to_pending(client, connector_auth, auth, session):
    [contact_id] = add_contacts(session, "c1", 1, campaign_type="AGENT", status="agent_pending")
    response = client.post("/dialer-connector/agent", headers=connector_auth,
                           json={"agent": "", "uuid": contact_id, "queue": ""})
    assert response.status_code == 200 and response.get_json()["status"] == "pending"
    assert client.get(f"/contacts/{contact_id}", headers=auth).get_json()["status"] == "pending"


def test_ongoing_calls_count_occupied_slots(client, auth, session):
    add_contacts(session, "c1", 2, status="dialed")
    add_contacts(session, "c1", 1, status="queued")
    body = client.get("/calls/ongoing", headers=auth).get_json()
    assert (body["ongoing"], body["occupied"], body["capacity"]) == (2, 3, 10)
