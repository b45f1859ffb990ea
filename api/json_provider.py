"""Flask's JSON, with one change: a body nested deeper than Python's parser can follow is invalid
JSON (a ValueError, so `request.get_json` answers it like any other bad body: a 400) instead of a
RecursionError that reached the error handler as a 500."""

from flask.json.provider import DefaultJSONProvider


class DialerJSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deep") from exc
