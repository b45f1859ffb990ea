"""Bearer tokens on routes that change state: one for the campaign manager, one for the VC."""

import hmac
from functools import wraps

from flask import current_app, request

from api.errors import ApiError


def require_token(setting):
    """Decorator: the request must carry `Authorization: Bearer <settings.<setting>>`."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            expected = getattr(current_app.config["DIALER_SETTINGS"], setting)
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
                raise ApiError(401, "missing or wrong bearer token")
            return view(*args, **kwargs)

        return guarded

    return decorate


require_api_token = require_token("api_token")
require_connector_token = require_token("connector_token")
