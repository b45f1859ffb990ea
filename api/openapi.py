"""The OpenAPI 3 document at `/openapi.json`, written by apispec from the routes' marshmallow schemas,
and the interactive page at `/docs` (Swagger UI from flask-swagger-ui's packaged files: no CDN, as a
dialer's network often has no internet). Both are public: the document holds no data.

A route documents itself with `@doc(...)` beside its `@blueprint.<method>(...)`: its answers
(status → schema), body, query and path parameters, and the error statuses it raises itself. What
follows from the route is added here: the summary (the docstring's first line), the path parameters
(from the URL rule), the security scheme, 401/403 (from its `@access` level) and 503 (database
unavailable). tests/integration/test_openapi.py fails for a route of `app.url_map` without `@doc`.
"""

import re
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify
from flask_swagger_ui import get_swaggerui_blueprint

from api.auth import CONNECTOR, PUBLIC, READ, WRITE, access
from api.openapi_fields import describe_dialer_fields

TITLE = "EfSwitch outbound dialer API"
ERROR = "Error"
SECURITY_SCHEMES = {
    "apiToken": {"type": "http", "scheme": "bearer",
                 "description": "DIALER_API_TOKEN: reads and changes (the campaign manager, operators)"},
    "readToken": {"type": "http", "scheme": "bearer",
                  "description": "DIALER_READ_TOKEN (optional): reads only (dashboards, support staff)"},
    "connectorToken": {"type": "http", "scheme": "bearer",
                       "description": "DIALER_CONNECTOR_TOKEN: the voice connector's callback only"},
    "cdrBasic": {"type": "http", "scheme": "basic",
                 "description": "DIALER_CDR_USER and DIALER_CDR_PASSWORD: the switch's mod_json_cdr"},
}
SECURITY = {READ: [{"apiToken": []}, {"readToken": []}], WRITE: [{"apiToken": []}],
            CONNECTOR: [{"connectorToken": []}], PUBLIC: []}
REASONS = {400: "invalid request: nothing changed", 401: "missing or wrong credentials",
           403: "this token may not do this", 404: "not found", 409: "conflict with the current state",
           413: "body too large", 500: "the request reached a failed dependency",
           503: "database unavailable, try again later"}
CONVERTERS = {"int": {"type": "integer"}, "float": {"type": "number"}}
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
ARGUMENT = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")  # werkzeug's <converter(args):name>

blueprint = Blueprint("openapi", __name__)


@dataclass(frozen=True)
class Doc:
    responses: dict  # {status: marshmallow schema, JSON schema dict, or text media types ("text/plain", ...)}
    body: object = None  # the request body: schema or JSON schema dict
    query: object = None  # a schema whose fields are the query parameters
    path: dict = field(default_factory=dict)  # {argument: JSON schema} where the URL rule's type is not enough
    errors: tuple = ()  # statuses the view itself raises, answered with the error shape
    security: str | None = None  # a scheme other than the access level's (the CDR's basic credentials)
    uses_database: bool = True  # may answer 503 while PostgreSQL is down
    body_required: bool = True
    summary: str | None = None  # else the view's docstring's first line


def doc(responses, **details):
    """Decorator: how a route is described in /openapi.json (see `Doc` for the keywords)."""

    def mark(view):
        view.openapi = Doc(responses, **details)
        return view

    return mark


def undocumented(view):
    """For routes outside the API proper (the document itself, the Swagger UI page and files)."""
    view.openapi = None
    return view


@blueprint.get("/openapi.json")
@access(PUBLIC)
@undocumented
def document():
    if "dialer_openapi" not in current_app.extensions:
        current_app.extensions["dialer_openapi"] = build_document(current_app)
    return jsonify(current_app.extensions["dialer_openapi"])


def register_openapi(app):
    """`/openapi.json` and the Swagger UI page at `/docs` (its files from the flask-swagger-ui package)."""
    app.register_blueprint(blueprint)
    # validatorUrl None: Swagger UI would otherwise send the document to validator.swagger.io for a badge.
    app.register_blueprint(get_swaggerui_blueprint(
        "/docs", "/openapi.json", config={"app_name": TITLE, "validatorUrl": None}, blueprint_name="docs"))
    undocumented(access(PUBLIC)(app.view_functions["docs.show"]))


def build_document(app):
    """The OpenAPI document of every route in `app.url_map` that has a `@doc`, as a dict."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title=TITLE, version=_version(), openapi_version="3.0.3", plugins=[plugin],
                   info={"description": "Errors are always `{\"error\": str, \"fields\": {field: [reason]}}`."})
    describe_dialer_fields(plugin.converter)
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    from api.schemas import Error

    spec.components.schema(ERROR, schema=Error)
    context = _Context(spec, plugin)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        described = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if described is None:
            continue
        view = app.view_functions[rule.endpoint]
        operations = {method.lower(): context.operation(rule, method, view, described)
                      for method in sorted(rule.methods - SKIPPED_METHODS)}
        spec.path(path=openapi_path(rule), operations=operations)
    return spec.to_dict()


def documented_operations(app):
    """(method, rule, documented?) of every route a client may call: what test_openapi.py checks."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or (hasattr(view, "openapi") and view.openapi is None):
            continue
        for method in sorted(rule.methods - SKIPPED_METHODS):
            yield method, rule.rule, isinstance(getattr(view, "openapi", None), Doc)


def openapi_path(rule):
    """`/campaigns/<campaign_id>` → `/campaigns/{campaign_id}` (`<int:task_id>` → `{task_id}`)."""
    return ARGUMENT.sub(lambda found: "{" + found.group(3) + "}", rule.rule)


def _arguments(rule):
    """(name, JSON schema from its converter) of each argument of the URL rule, in order."""
    found = []
    for converter, arguments, name in (match.groups() for match in ARGUMENT.finditer(rule.rule)):
        if converter == "any":  # <any(purge, start, stop):action>
            schema = {"type": "string", "enum": [item.strip(" '\"") for item in arguments.split(",")]}
        else:
            schema = CONVERTERS.get(converter, {"type": "string"})
        found.append((name, schema))
    return found


def _version():
    try:
        return version("efswitch-dialer")
    except PackageNotFoundError:
        return "0"


class _Context:
    """Turns one route's `Doc` into an OpenAPI operation."""

    def __init__(self, spec, plugin):
        self.spec, self.plugin = spec, plugin

    def operation(self, rule, method, view, described):
        level = getattr(view, "dialer_access", None) or (READ if method in ("GET", "HEAD") else WRITE)
        summary, _, description = (described.summary or view.__doc__ or rule.endpoint).strip().partition("\n")
        operation = {"operationId": f"{rule.endpoint}.{method.lower()}", "summary": summary.strip(),
                     "tags": [rule.endpoint.split(".")[0]], "responses": self._responses(described, level)}
        parameters = self._path_parameters(rule, described) + self._query(described)
        if parameters:
            operation["parameters"] = parameters
        if description.strip():
            operation["description"] = " ".join(description.split())
        if described.body is not None:
            operation["requestBody"] = {"required": described.body_required,
                                        "content": {"application/json": {"schema": self._schema(described.body)}}}
        operation["security"] = [{described.security: []}] if described.security else SECURITY[level]
        return operation

    def _path_parameters(self, rule, described):
        parameters = []
        for name, schema in _arguments(rule):
            schema = described.path.get(name) or schema
            parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return parameters

    def _query(self, described):
        return [] if described.query is None else [{"in": "query", "schema": described.query}]

    def _responses(self, described, level):
        responses = {}
        for status, answer in described.responses.items():
            responses[str(status)] = {"description": REASONS.get(status, "success")}
            if isinstance(answer, tuple):
                responses[str(status)]["content"] = {kind: {"schema": {"type": "string"}} for kind in answer}
            elif answer is not None:
                responses[str(status)]["content"] = {"application/json": {"schema": self._schema(answer)}}
        errors = set(described.errors)
        if level != PUBLIC or described.security:
            errors |= {401} if described.security else {401, 403}
        if described.uses_database:
            errors.add(503)
        for status in sorted(errors - set(described.responses)):
            responses[str(status)] = {"description": REASONS.get(status, "error"), "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}}}
        return responses

    def _schema(self, schema):
        """A marshmallow schema class or instance (kept for apispec to resolve), or a JSON schema dict."""
        if callable(schema) and not isinstance(schema, type):  # a builder that needs the converter
            return schema(self.plugin.converter)
        return schema
