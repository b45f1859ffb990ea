"""JSON errors everywhere: `{"error": ..., "fields": {...}}`; never a stack trace to a client."""

import logging

from flask import jsonify
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status, message, fields=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields


def error_response(status, message, fields=None):
    body = {"error": message}
    if fields:
        body["fields"] = fields
    return jsonify(body), status


def register_error_handlers(app):
    @app.errorhandler(ApiError)
    def api_error(exc):
        return error_response(exc.status, exc.message, exc.fields)

    @app.errorhandler(ValidationError)
    def invalid(exc):
        return error_response(400, "invalid request", _as_fields(exc.messages))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        response, status = error_response(exc.code, exc.description or exc.name)
        for name, value in exc.get_headers():  # e.g. a 405's Allow: which methods the route takes
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_down(exc):
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            log.warning("event=database_unavailable error=%s", str(exc.orig).strip().splitlines()[0:1])
            return error_response(503, "database unavailable, try again later")
        return unexpected(exc)

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("event=unexpected_error")
        return error_response(500, "internal error")


def _as_fields(messages):
    """marshmallow messages, flattened to {field: [reason, ...]} (nested keys joined with '.')."""
    if isinstance(messages, list):
        return {"_schema": [str(m) for m in messages]}
    fields = {}
    for key, value in messages.items():
        if isinstance(value, dict):
            for inner, reasons in _as_fields(value).items():
                fields[f"{key}.{inner}"] = reasons
        else:
            fields[str(key)] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return fields
