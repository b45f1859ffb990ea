"""The VC side of the spec's payloads: validating "Call details" and finding a call's id in a message.

Pure functions, no I/O, so the rules are tested without a server.
"""

QUEUE_TYPES = ("NAME", "ID")
DIRECTIONS = ("DIRECT_TRANSFER", "INBOUND", "OUTBOUND")
CALL_DETAILS_KEYS = ("callingNumber", "queue", "queueType", "callUid", "eslHost", "serviceIdentifier",
                     "direction")
# The spec shows `queue` blank ("will use default queue") and `eslHost` blank; the rest must say something.
MAY_BE_BLANK = frozenset({"queue", "eslHost"})
ENUMS = {"queueType": QUEUE_TYPES, "direction": DIRECTIONS}

# Keys that may hold a call's id, anywhere the dialer might reasonably put it.
CALL_ID_KEYS = ("callUid", "uuid", "callId", "id")


def call_details_errors(body):
    """Return `{field: [reason]}` for a "Call details" body; empty when it is valid.

    Strict on purpose: the simulator exists to catch a dialer that drifts from the spec, so an
    unknown key is an error too (a Java VC with default Jackson settings rejects it as well).
    """
    if not isinstance(body, dict):
        return {"_body": ["must be a JSON object"]}
    errors = {}
    for key in CALL_DETAILS_KEYS:
        reason = _field_error(key, body)
        if reason:
            errors[key] = [reason]
    for key in sorted(set(body) - set(CALL_DETAILS_KEYS)):
        errors[key] = ["unknown field"]
    return errors


def _field_error(key, body):
    if key not in body:
        return "missing"
    value = body[key]
    if not isinstance(value, str):
        return "must be a string"
    if not value.strip() and key not in MAY_BE_BLANK:
        return "must not be blank"
    if key in ENUMS and value not in ENUMS[key]:
        return "must be one of " + ", ".join(ENUMS[key])
    return None


def call_ids(body):
    """Every value in `body` that could be the call's id: top level, then `header.channelData`.

    Liberal by design: the caller only acts on an id that matches a reserved call, so an extra
    candidate (say the END_CHAT message's own `id`) costs nothing.
    """
    if not isinstance(body, dict):
        return set()
    places = [body]
    header = body.get("header")
    if isinstance(header, dict) and isinstance(header.get("channelData"), dict):
        places.append(header["channelData"])
    return {place[key] for place in places for key in CALL_ID_KEYS if isinstance(place.get(key), str)}
