"""`POST /cdr`: call detail records from the switch's mod_json_cdr, the second path for results.

A CDR says what the call's CHANNEL_HANGUP_COMPLETE says and goes into the same inbox under the
same key, so whichever arrives first is recorded and the other changes nothing; a call that ended
while no listener was connected still gets its real result. mod_json_cdr posts raw JSON under a
form Content-Type (see ../shared/cdr-captures/README.md), so the body is read whatever the header
says. It retries a non-2xx answer and then spools the record to disk, so only a record the dialer
has stored is answered 200; one that is not ours (another application's call) is answered 200 too,
or the switch would keep it forever.
"""

import hmac
import logging

from flask import Blueprint, current_app, jsonify, request

from api import schemas
from api.auth import PUBLIC, access
from api.errors import ApiError
from api.extensions import db
from api.openapi import doc
from dialer.flows import inbox
from dialer.rules.cdr import parse_cdr
from dialer.rules.event_messages import to_message
from dialer.rules.events import MalformedEvent

log = logging.getLogger(__name__)
blueprint = Blueprint("cdr", __name__)


@blueprint.post("/cdr")
@access(PUBLIC)  # HTTP basic credentials of the switch, checked below
@doc({200: schemas.CdrRecorded}, body={"type": "object", "description": "a mod_json_cdr record"},
     query=schemas.CdrQuery, errors=(400, 404, 413), security="cdrBasic")
def call_detail_record():
    """A call detail record from the switch's mod_json_cdr (404 while DIALER_CDR_USER is unset)."""
    settings = current_app.config["DIALER_SETTINGS"]
    if not settings.cdr_user:
        raise ApiError(404, "CDR intake is off: set DIALER_CDR_USER and DIALER_CDR_PASSWORD")
    _check_credentials(settings)
    try:
        result = parse_cdr(request.get_data(), request.args.get("uuid"))
    except MalformedEvent as exc:
        raise ApiError(400, f"not a mod_json_cdr record: {exc}") from exc
    if result.dialer_vars.get("dialer_instance") != settings.instance:
        return jsonify({"recorded": False, "reason": "not a call of this dialer"})
    new = inbox.store(db.session, [to_message(result)], inbox.CDR)
    db.session.commit()
    if new:
        _nudge()
    return jsonify({"recorded": bool(new), "uuid": result.uuid})


def _check_credentials(settings):
    auth = request.authorization
    if (auth is None or auth.type != "basic"
            or not hmac.compare_digest((auth.username or "").encode(), settings.cdr_user.encode())
            or not hmac.compare_digest((auth.password or "").encode(), settings.cdr_password.encode())):
        raise ApiError(401, "missing or wrong CDR credentials (HTTP basic)")


def _nudge():
    try:
        inbox.nudge(current_app.extensions["dialer_redis"], current_app.extensions["dialer_celery"].send_task)
    except Exception as exc:  # the beat's sweep records it anyway
        log.warning("event=nudge_failed source=cdr error=%s", exc)
