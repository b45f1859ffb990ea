"""What fuzzing the API (tests/integration/test_fuzz.py) found, one test per finding, so each stays fixed."""

import json

import pytest

from dialer.rules.contact_schema import TIME_RULE
from dialer.rules.dnc import REASON_RULE
from tests.contact_payloads import FLAT_EXAMPLE


def test_a_405_names_the_methods_the_route_takes_in_allow(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.get_json() == {"error": "The method is not allowed for the requested URL."}


def test_a_post_to_campaign_settings_is_a_405_not_an_unknown_action(client, auth):
    response = client.post("/campaigns/c1/settings", json={}, headers=auth)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "PUT", "HEAD", "OPTIONS"}
    assert client.post("/campaigns/c1/bogus", headers=auth).status_code == 404
    assert client.post("/campaigns/c1/stop", headers=auth).get_json() == {"error": "no campaign with id 'c1'"}


def test_a_contact_time_with_an_offset_beyond_postgresqls_is_stored_as_utc(client, auth):
    """+16:50 is valid ISO-8601 but PostgreSQL takes offsets up to ±15:59: it was a 500."""
    contact = {**FLAT_EXAMPLE, "start_time": "2030-01-01T09:00:00+16:50", "end_time": "2030-01-02T09:00:00-16:50"}
    response = client.post("/contacts", json=contact, headers=auth)
    assert response.status_code == 201
    assert (response.get_json()["start_time"], response.get_json()["end_time"]) == (
        "2029-12-31T16:10:00+00:00", "2030-01-03T01:50:00+00:00")


def test_a_contact_time_before_year_one_in_utc_is_a_400(client, auth):
    contact = {**FLAT_EXAMPLE, "start_time": "0001-01-01T00:00:00+01:00"}
    response = client.post("/contacts", json=contact, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"start_time": [TIME_RULE]}


def test_failed_tasks_since_a_time_with_an_offset_beyond_postgresqls_is_answered(client, auth):
    """+16:50 reached PostgreSQL, which refuses it: a 500."""
    response = client.get("/tasks/failed", query_string={"since": "2020-01-01T00:00:00+16:50"}, headers=auth)
    assert response.status_code == 200
    assert response.get_json() == {"failed_tasks": []}


@pytest.mark.parametrize("since", ["999999w", "0001-01-01T00:00:00+01:00"])
def test_failed_tasks_since_before_year_one_is_a_400(client, auth, since):
    """999999 weeks back overflowed the date: a 500."""
    response = client.get("/tasks/failed", query_string={"since": since}, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"since": [f"{since!r} is too far back"]}


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/contacts/a%00b", None), ("GET", "/campaigns/a%00b", None), ("POST", "/campaigns/a%00b/stop", None),
    ("POST", "/campaigns/a%00b/requeue", {"results": ["LOST"]}),
])
def test_an_id_with_a_nul_character_names_nothing(client, auth, method, path, body):
    """PostgreSQL refuses a NUL in a query's text: these were 500s."""
    response = client.open(path, method=method, json=body, headers=auth)
    assert response.status_code == 404
    assert response.get_json()["error"].startswith("no ")


@pytest.mark.parametrize("reason", ["a\u0000b", "\ud800"])
def test_a_dnc_reason_postgresql_cannot_store_is_a_400(client, auth, reason):
    """A NUL or a lone surrogate in the reason reached the insert: a 500."""
    response = client.post("/dnc", json={"numbers": ["+15550001"], "reason": reason}, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"reason": [REASON_RULE]}
    assert client.get("/dnc/+15550001", headers=auth).get_json()["blocked"] is False


@pytest.mark.parametrize("method, path", [
    ("POST", "/contacts"), ("POST", "/contacts/bulk"), ("POST", "/dnc"), ("PUT", "/campaigns/c1/settings"),
    ("POST", "/campaigns/c1/requeue"),
])
def test_a_body_nested_deeper_than_the_parser_goes_is_a_400(client, auth, method, path):
    """Python's JSON parser raises RecursionError past ~1000 levels: it was a 500."""
    response = client.open(path, method=method, data="[" * 100_000, content_type="application/json", headers=auth)
    assert response.status_code == 400
    assert set(response.get_json()) <= {"error", "fields"}


def test_a_cdr_nested_deeper_than_the_parser_goes_is_a_400(database_url, redis_url, session_factory):
    response = cdr_client(database_url, redis_url).post(
        "/cdr", data="[" * 100_000, headers={"Authorization": "Basic c3dpdGNoOnB3"})
    assert response.status_code == 400
    assert response.get_json() == {"error": "not a mod_json_cdr record: CDR body is not JSON: nested too deep"}


def cdr_client(database_url, redis_url):
    from api import create_app
    from tests.conftest import make_settings

    return create_app(make_settings(database_url, redis_url, cdr_user="switch", cdr_password="pw")).test_client()


@pytest.mark.parametrize("variable", ["hangup_cause", "dialer_contact_id", "sip_term_status"])
def test_a_cdr_variable_with_a_nul_character_is_a_400(database_url, redis_url, session_factory, variable):
    """A %00 in a variable reached the inbox's jsonb, which refuses it: a 500."""
    variables = {"uuid": "u1", "hangup_cause": "NORMAL_CLEARING", "dialer_instance": "dialer", variable: "A%00B"}
    response = cdr_client(database_url, redis_url).post(
        "/cdr", data=json.dumps({"variables": variables}), headers={"Authorization": "Basic c3dpdGNoOnB3"})
    assert response.status_code == 400
    assert response.get_json() == {
        "error": f"not a mod_json_cdr record: CDR variables.{variable} holds a NUL character (%00)"}


@pytest.mark.parametrize("variable, value", [("answer_epoch", "99999999999999999999"), ("end_epoch", "-99999999999")])
def test_a_cdr_time_beyond_the_calendar_is_a_400(database_url, redis_url, session_factory, variable, value):
    """A time past year 9999 (or before year 1) overflowed the date: a 500."""
    variables = {"uuid": "u1", "hangup_cause": "NORMAL_CLEARING", "dialer_instance": "dialer", variable: value}
    response = cdr_client(database_url, redis_url).post(
        "/cdr", data=json.dumps({"variables": variables}), headers={"Authorization": "Basic c3dpdGNoOnB3"})
    assert response.status_code == 400
    assert response.get_json() == {"error": f"not a mod_json_cdr record: CDR of call u1: variables.{variable} "
                                            f"is not a time: {value!r}"}


def test_the_settings_a_get_answers_can_be_put_back(client, auth):
    """DEFAULTS' predictive.connect_seconds is null (DIALER_ABANDON_SECONDS) but the schema refused null:
    the answer broke its own document and a GET sent back edited was a 400."""
    client.put("/campaigns/c1/settings", json={"max_attempts": 3}, headers=auth)
    shown = client.get("/campaigns/c1/settings", headers=auth).get_json()
    assert shown["predictive"]["connect_seconds"] is None
    response = client.put("/campaigns/c1/settings", json=shown, headers=auth)
    assert response.status_code == 200
    assert response.get_json() == {**shown, "version": 2}


def test_failed_tasks_of_a_name_with_a_nul_character_is_a_400(client, auth):
    """The name reached the query, which PostgreSQL refuses: a 500."""
    response = client.get("/tasks/failed", query_string={"name": "dialer.a\u0000b"}, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"name": ["may not hold a NUL character"]}


def test_a_cdr_posted_with_a_nul_character_in_its_uuid_query_is_a_400(database_url, redis_url, session_factory):
    """A record without its own uuid took the ?uuid= one, NUL and all, to the inbox's jsonb: a 500."""
    variables = {"hangup_cause": "NORMAL_CLEARING", "dialer_instance": "dialer"}
    response = cdr_client(database_url, redis_url).post(
        "/cdr?uuid=a%00b", data=json.dumps({"variables": variables}), headers={"Authorization": "Basic c3dpdGNoOnB3"})
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "not a mod_json_cdr record: CDR posted with a NUL character (%00) in ?uuid="}
