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
