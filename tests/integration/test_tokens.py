"""Every route is behind a token but health, readiness, metrics, the API's document and the dashboard's
sign-in and files; the read token reads only, the connector token opens only the VC's callback. Routes come
from the app's own URL map, so a route added later is covered without touching this file."""

import re

import pytest

from api.auth import CONNECTOR, PUBLIC, READ, WRITE

PUBLIC_ROUTES = {"/healthz", "/readyz", "/metrics", "/cdr",  # /cdr: the switch's HTTP basic credentials
                 "/openapi.json", "/docs/", "/docs/<path:path>",  # the OpenAPI document and Swagger UI: no data
                 "/dashboard/sign-in", "/dashboard/sign-out", "/dashboard/static/<path:filename>"}  # no data either
SAMPLES = {"campaign_id": "c1", "contact_id": "x1", "action": "stop"}


def sample_path(rule):
    """A URL of the rule: known arguments by name, `<any(a, b):x>` as its first choice, others "1"."""
    def value(found):
        converter, arguments, name = found.groups()
        if converter == "any":
            return arguments.split(",")[0].strip(" '\"")
        return SAMPLES.get(name, "1")

    return re.sub(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", value, rule)


def routes():
    from api import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings("postgresql://nowhere/none", "redis://127.0.0.1:1/0"))
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule if getattr(app.view_functions[rule.endpoint], "dialer_access", None) == PUBLIC \
            else sample_path(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            level = getattr(app.view_functions[rule.endpoint], "dialer_access", None)
            found.append((method, path, level or (READ if method == "GET" else WRITE)))
    return found


ROUTES = routes()
GUARDED = [r for r in ROUTES if r[2] != PUBLIC]


def call(client, method, path, headers=None):
    return client.open(path, method=method, headers=headers or {}, json={})


def test_only_health_readiness_metrics_cdr_and_the_api_document_are_public():
    assert {path for _, path, level in ROUTES if level == PUBLIC} == PUBLIC_ROUTES


@pytest.mark.parametrize("method, path, level", GUARDED, ids=[f"{m} {p}" for m, p, _ in GUARDED])
def test_a_guarded_route_without_a_token_is_a_401(client, method, path, level):
    response = call(client, method, path)
    assert response.status_code == 401
    assert response.get_json() == {"error": "missing or wrong bearer token"}
    assert call(client, method, path, {"Authorization": "Bearer wrong"}).status_code == 401


@pytest.mark.parametrize("method, path, level", GUARDED, ids=[f"{m} {p}" for m, p, _ in GUARDED])
def test_the_read_token_reads_and_changes_nothing(client, read_auth, method, path, level):
    status = call(client, method, path, read_auth).status_code
    if level == READ:
        assert status not in (401, 403)
    else:
        assert status == 403


@pytest.mark.parametrize("method, path, level", GUARDED, ids=[f"{m} {p}" for m, p, _ in GUARDED])
def test_the_connector_token_opens_only_the_connector_route(client, connector_auth, method, path, level):
    status = call(client, method, path, connector_auth).status_code
    assert (status not in (401, 403)) == (level == CONNECTOR)


@pytest.mark.parametrize("method, path, level", GUARDED, ids=[f"{m} {p}" for m, p, _ in GUARDED])
def test_the_api_token_opens_every_route_but_the_connectors(client, auth, method, path, level):
    status = call(client, method, path, auth).status_code
    assert (status in (401, 403)) == (level == CONNECTOR)


def test_a_contact_is_not_shown_without_a_token(client, auth, read_auth):
    from tests.contact_payloads import FLAT_EXAMPLE

    client.post("/contacts", json=FLAT_EXAMPLE, headers=auth)
    assert client.get(f"/contacts/{FLAT_EXAMPLE['id']}").status_code == 401
    shown = client.get(f"/contacts/{FLAT_EXAMPLE['id']}", headers=read_auth).get_json()
    assert shown["customer_number"] == FLAT_EXAMPLE["customer_number"]


def test_the_read_token_changes_nothing(client, auth, read_auth):
    from tests.contact_payloads import FLAT_EXAMPLE

    assert client.post("/contacts", json=FLAT_EXAMPLE, headers=read_auth).status_code == 403
    assert client.get(f"/contacts/{FLAT_EXAMPLE['id']}", headers=auth).status_code == 404


def test_without_a_read_token_configured_an_empty_bearer_opens_nothing(database_url, redis_url, session_factory):
    from api import create_app
    from tests.conftest import make_settings

    client = create_app(make_settings(database_url, redis_url, read_token="")).test_client()
    assert client.get("/campaigns", headers={"Authorization": "Bearer "}).status_code == 401
    assert client.get("/campaigns", headers={"Authorization": "Bearer"}).status_code == 401
