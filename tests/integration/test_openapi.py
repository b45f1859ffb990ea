"""/openapi.json describes every route the app serves (a route added without `@doc` fails here),
from the schemas the routes validate with; /docs serves Swagger UI from packaged files, no CDN.
Both are public. The routes come from the app's own URL map, so a new route is covered at once."""

import re

import pytest
import schemathesis
from flask import Blueprint

from api.openapi import build_document, documented_operations, openapi_path

ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def offline_app():
    """An app that needs no server to describe itself."""
    from api import create_app
    from tests.conftest import make_settings

    return create_app(make_settings("postgresql://nowhere/none", "redis://127.0.0.1:1/0"))


@pytest.fixture(scope="module")
def document(offline_app):
    return build_document(offline_app)


def operation(document, method, path):
    return document["paths"][path][method.lower()]


def test_every_route_a_client_may_call_has_its_documentation(offline_app, document):
    missing = [f"{method} {rule}" for method, rule, documented in documented_operations(offline_app) if not documented]
    assert not missing, "add @doc(...) (api/openapi.py) to: " + ", ".join(missing)
    for method, rule, _ in documented_operations(offline_app):
        path = openapi_path(next(r for r in offline_app.url_map.iter_rules() if r.rule == rule))
        assert method.lower() in document["paths"][path]


def test_a_route_without_doc_is_reported_as_undocumented(offline_app):
    from api import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings("postgresql://nowhere/none", "redis://127.0.0.1:1/0"))
    extra = Blueprint("extra", __name__)
    extra.add_url_rule("/extra/<int:item>", "item", lambda item: "", methods=["DELETE"])
    app.register_blueprint(extra)
    assert ("DELETE", "/extra/<int:item>", False) in set(documented_operations(app))


def test_the_document_is_valid_openapi_3(document):
    assert document["openapi"].startswith("3.0")
    schemathesis.openapi.from_dict(document).validate()


def test_every_error_answer_has_the_error_shape(document):
    for path, operations in document["paths"].items():
        for method, described in operations.items():
            for status, response in described["responses"].items():
                if int(status) >= 400 and (path, status) != ("/readyz", "503"):
                    assert response["content"]["application/json"]["schema"] == ERROR_REF, f"{method} {path} {status}"
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"] and error["properties"]["fields"]["type"] == "object"


def test_security_follows_each_routes_token(document):
    assert operation(document, "GET", "/campaigns")["security"] == [{"apiToken": []}, {"readToken": []}]
    assert operation(document, "POST", "/contacts")["security"] == [{"apiToken": []}]
    assert operation(document, "POST", "/dialer-connector/agent")["security"] == [{"connectorToken": []}]
    assert operation(document, "POST", "/cdr")["security"] == [{"cdrBasic": []}]
    assert operation(document, "GET", "/healthz")["security"] == []
    assert {"401", "403"} <= set(operation(document, "POST", "/contacts")["responses"])
    assert "401" not in operation(document, "GET", "/healthz")["responses"]
    schemes = document["components"]["securitySchemes"]
    assert {name: s["scheme"] for name, s in schemes.items()} == {
        "apiToken": "bearer", "readToken": "bearer", "connectorToken": "bearer", "cdrBasic": "basic"}


def test_request_bodies_are_the_schemas_the_routes_validate_with(document):
    def body(method, path):
        return operation(document, method, path)["requestBody"]["content"]["application/json"]["schema"]

    schemas = document["components"]["schemas"]
    contact = body("POST", "/contacts")["oneOf"]
    assert contact[0] == {"$ref": "#/components/schemas/Contact"}  # dialer.rules.contact_schema.ContactSchema
    assert schemas["Contact"]["additionalProperties"] is False
    assert "customer_number" in schemas["Contact"]["required"]
    nested = contact[1]["properties"]["header"]["properties"]
    assert nested["shedulingMetaData"]["properties"]["priority"] == schemas["Contact"]["properties"]["priority"]
    ivr = schemas["Contact"]["properties"]["ivr"]  # optional: "" or null is no value
    assert ivr["nullable"] is True and {"maxLength": 0} in ivr["anyOf"]
    assert body("POST", "/contacts/bulk") == {"type": "array", "items": body("POST", "/contacts")}
    assert body("PUT", "/campaigns/{campaign_id}/settings") == {"$ref": "#/components/schemas/SettingsDocument"}
    assert set(schemas["SettingsDocument"]["properties"]) >= {"retries", "calling_hours", "caller_id", "version"}
    assert schemas["RetryRule"]["properties"]["retries"] == {"type": "integer", "minimum": 0, "maximum": 10}
    assert body("POST", "/dialer-connector/agent") == {"$ref": "#/components/schemas/AgentDetails"}


def test_path_parameters_come_from_the_url_rules(document):
    action = operation(document, "POST", "/campaigns/{campaign_id}/{action}")["parameters"]
    assert [p["name"] for p in action] == ["campaign_id", "action"]
    assert action[1]["schema"]["enum"] == ["purge", "start", "stop"]


def test_the_document_and_the_docs_page_are_public(client, offline_app, document):
    served = client.get("/openapi.json")
    assert served.status_code == 200
    assert served.get_json() == document
    page = client.get("/docs/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert client.get("/docs").status_code in (301, 308)


def test_the_docs_page_loads_only_files_the_dialer_serves_itself(client):
    page = client.get("/docs/").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and not [a for a in assets if "//" in a], assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert '"url": "/openapi.json"' in page
    assert '"validatorUrl": null' in page  # no call to validator.swagger.io for a badge
