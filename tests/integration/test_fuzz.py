"""Schemathesis against the live app on the test PostgreSQL, every documented operation, with the
tokens its security schemes name (schemathesis applies them, and checks that a missing or wrong one
is refused): no input gives a 5xx, every answer (4xx errors in the error shape included) matches
/openapi.json. `make test` runs a bounded, repeatable number of examples per
operation; `make fuzz` sets DIALER_FUZZ_EXAMPLES high and random."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import allow_header_conformance, not_a_server_error, positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from tests.conftest import API_TOKEN, CONNECTOR_TOKEN, READ_TOKEN, make_settings

EXAMPLES = int(os.environ.get("DIALER_FUZZ_EXAMPLES", "50"))
LONG_RUN = "DIALER_FUZZ_EXAMPLES" in os.environ
CDR_USER, CDR_PASSWORD = "switch", "cdr-secret"
CREDENTIALS = {"auth": {"openapi": {  # by the document's security scheme names
    "apiToken": {"bearer": API_TOKEN}, "readToken": {"bearer": READ_TOKEN},
    "connectorToken": {"bearer": CONNECTOR_TOKEN},
    "cdrBasic": {"username": CDR_USER, "password": CDR_PASSWORD},
}}}
ANSWERS_5XX_BY_DESIGN = {"/readyz"}  # 503 "degraded" while the test switch is down: its documented answer
# GET /contacts/bulk is GET /contacts/{contact_id} of a contact whose id is "bulk", so its Allow names GET.
SHARED_PATHS = {"/contacts/bulk"}
# Not checked: that every request the document allows is accepted. The API checks what JSON Schema cannot
# say (an end after the start, a number libphonenumber can read, a CDR's call variables) and answers 400.
NOT_CHECKED = [positive_data_acceptance]


class LiveApp:
    """A WSGI app that hands each request to the test's live app (the `app` fixture, on the test database).

    The document is read once, at collection, from an app that needs no server to describe itself
    (the same `build_document` serves /openapi.json); the calls go to the live one."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def document():
    from api import create_app
    from api.openapi import build_document

    return build_document(create_app(make_settings("postgresql://nowhere/none", "redis://127.0.0.1:1/0")))


schema = schemathesis.openapi.from_dict(document(), config=SchemathesisConfig.from_dict(CREDENTIALS))
schema.app = LIVE = LiveApp()


@pytest.fixture
def live(app):
    LIVE.app = app
    yield app
    LIVE.app = None


@pytest.fixture
def settings(database_url, redis_url):
    """The shared settings with CDR intake on, so /cdr is fuzzed past its credentials."""
    return make_settings(database_url, redis_url, cdr_user=CDR_USER, cdr_password=CDR_PASSWORD)


@schemathesis.check
def errors_have_the_error_shape(ctx, response, case):
    """Every 4xx and 5xx, documented or not (a 404 of an unknown path, a 405), is {"error": str, "fields"?: {...}}."""
    if response.status_code < 400 or case.path in ANSWERS_5XX_BY_DESIGN:
        return None
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and set(body) <= {"error", "fields"}, body
    assert all(isinstance(reasons, list) for reasons in body.get("fields", {}).values()), body
    return True


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG_RUN, database=None,
                     suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error_or_an_answer_the_document_does_not_describe(case, live):
    excluded = NOT_CHECKED + ([not_a_server_error] if case.path in ANSWERS_5XX_BY_DESIGN else []) + (
        [allow_header_conformance] if case.path in SHARED_PATHS else [])
    case.call_and_validate(excluded_checks=excluded, additional_checks=[errors_have_the_error_shape])


def test_answers_about_stored_rows_match_the_document(client, auth, session):
    """What random inputs rarely reach: contacts with attempts, settings, DNC entries, a failed task."""
    from datetime import UTC, datetime

    from dialer.adapters.models import CallAttempt, FailedTask
    from tests.contact_payloads import FLAT_EXAMPLE, spec_example

    def answer(method, path, status, operation=None, **kwargs):
        response = client.open(path, method=method, headers=auth, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        schema[operation or path][method].validate_response(response)
        return response.get_json()

    contact_id, campaign = FLAT_EXAMPLE["id"], FLAT_EXAMPLE["campaign_id"]
    answer("POST", "/contacts", 201, json=FLAT_EXAMPLE)
    answer("POST", "/contacts", 200, json=FLAT_EXAMPLE)
    answer("POST", "/contacts", 201, json=spec_example())
    answer("POST", "/contacts/bulk", 201, json=[FLAT_EXAMPLE, {**FLAT_EXAMPLE, "id": "c-2", "ivr": ""}])
    now = datetime.now(UTC)
    session.add(CallAttempt(contact_id=contact_id, attempt=1, uuid="u-1", job_uuid="j-1", switch_name="sw1", kind="IVR",
                            dial_time=now, answer_time=now, hangup_time=now, hangup_cause="NORMAL_CLEARING", billsec=7,
                            sip_term_status="200", result_source="hangup", disposition="ANSWERED", settings_version=1))
    session.add(FailedTask(task_id="t-1", name="dialer.originate", args=["c-2"], kwargs={"attempt": 1},
                           exception="TypeError: boom", traceback="Traceback ..."))
    session.commit()
    assert answer("GET", f"/contacts/{contact_id}", 200, "/contacts/{contact_id}")["attempts"][0]["billsec"] == 7
    settings = {"retries": {"BUSY": {"retries": 2, "after_seconds": 60, "backoff": 2}}, "max_attempts": 3,
                "calling_hours": {"mon": ["09:00", "17:00"]}, "blocked_dates": ["2030-12-25"],
                "fallback_timezone": "Europe/Paris", "caller_id": {"number": "+15550100", "name": "Acme Sales"}}
    answer("PUT", f"/campaigns/{campaign}/settings", 200, "/campaigns/{campaign_id}/settings", json=settings)
    answer("GET", f"/campaigns/{campaign}/settings", 200, "/campaigns/{campaign_id}/settings")
    listed = {"numbers": ["+15550001", "+15550002"], "campaign_id": campaign, "reason": "asked"}
    answer("POST", "/dnc", 200, json=listed)
    answer("POST", "/dnc", 200, json={"numbers": ["+15550001"]})
    assert len(answer("GET", "/dnc/+15550001", 200, "/dnc/{number}")["lists"]) == 2
    answer("GET", "/campaigns", 200)
    answer("GET", f"/campaigns/{campaign}", 200, "/campaigns/{campaign_id}")
    answer("GET", "/calls/ongoing", 200)
    for action in ("stop", "start", "purge"):
        answer("POST", f"/campaigns/{campaign}/{action}", 200, "/campaigns/{campaign_id}/{action}")
    answer("POST", f"/campaigns/{campaign}/requeue", 200, "/campaigns/{campaign_id}/requeue",
           json={"results": ["LOST"]})
    answer("DELETE", f"/dnc/+15550002?campaign_id={campaign}", 200, "/dnc/{number}")
    failed = answer("GET", "/tasks/failed?status=all", 200, "/tasks/failed")["failed_tasks"]
    answer("POST", f"/tasks/failed/{failed[0]['id']}/discard", 200, "/tasks/failed/{failed_id}/discard")
    answer("GET", "/metrics", 200)
    answer("GET", "/healthz", 200)
