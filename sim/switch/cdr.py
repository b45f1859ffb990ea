"""The JSON body mod_json_cdr POSTs when a call ends (captured/cdr/README.md), built for a simulated call.

The captured bodies are the templates: the answered one for answered calls, the busy one for every
other. `variables` are the `variable_*` headers of the call's own CHANNEL_HANGUP_COMPLETE event as
they are on the wire (FreeSWITCH URL-encodes both with switch_url_encode), so a CDR always says what
the event says; callflow, app_log and callStats are filled with the same call's values.
"""

import json
import re
from functools import cache
from pathlib import Path

CAPTURED = Path(__file__).with_name("captured") / "cdr"
_IN, _OUT, _RTCP = "rtp_audio_in_", "rtp_audio_out_", "rtp_audio_"
_VARIABLE_LINE = re.compile(r"^variable_([^:\n]+): (.*)$", re.MULTILINE)


@cache
def template(kind):
    """The captured body of an "answered" or a "busy" call, parsed."""
    return json.loads((CAPTURED / f"json_cdr_{kind}.json").read_bytes())


def cdr_body(event):
    """The bytes mod_json_cdr would POST for the call whose CHANNEL_HANGUP_COMPLETE is `event` (a
    ChannelEvent; its call has ended and is never changed again, so any thread may read it)."""
    variables = _wire_variables(event.frame("plain"))
    call = {**event.static_values.decoded(), **event.call_values.decoded()}
    answered = call["answer_us"] != "0"
    body = dict(template("answered" if answered else "busy"))  # the parts that differ are replaced
    body["core-uuid"] = event.identity.values["core_uuid"]
    body["switchname"] = event.identity.values["hostname"]
    body["variables"] = variables
    body["callflow"] = _callflow(call, answered)
    if answered:
        body["callStats"] = _call_stats(body["callStats"], variables)
        body["app_log"] = {"applications": _app_log(call)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _wire_variables(frame):
    """{name: value as on the wire} of the `variable_*` headers of a text/event-plain frame."""
    head = frame.split(b"\n\n", 2)[1].decode()
    return dict(_VARIABLE_LINE.findall(head))  # the last of a repeated name wins, as in dialer.rules.events


def _callflow(call, answered):
    """Caller profiles, newest first: a call sent to `<ext> XML <context>` is transferred into the
    dialplan when answered (profile 2); an `&app()` call runs its application in profile 1."""
    originate = _profile(call, template("busy")["callflow"][0], call["number"])
    if call["app"]:
        originate["extension"] = {
            "name": call["app"],
            "number": call["app_args"],
            "applications": [{"last_executed": "true", "app_name": call["app"], "app_data": call["app_args"]}],
            "current_app": call["app"],
        }
    if call["app"] or not answered:
        return [originate]
    captured = template("answered")["callflow"][0]
    dialplan = _profile(call, captured, call["dest"], profile_created=call["profile_us"])
    dialplan["dialplan"] = call["dialplan"]
    dialplan["extension"] = {**captured["extension"], "name": call["dest"], "number": call["dest"]}
    dialplan["caller_profile"].update(dialplan=call["dialplan"], caller_id_number=call["number"], rdnis=call["number"])
    originate["times"].update(hangup_time="0", transfer_time=call["profile_us"])
    return [dialplan, originate]


def _profile(call, captured, destination, profile_created=None):
    """A captured caller profile (copied as deep as it is changed) with this call's values."""
    caller = {
        **captured["caller_profile"],
        "destination_number": destination,
        "uuid": call["uuid"],
        "context": call["context"],
        "chan_name": f"sofia/external/{call['number']}",
    }
    times = {
        **captured["times"],
        "created_time": call["created_us"],
        "profile_created_time": profile_created or call["created_us"],
        "progress_time": call["progress_us"],
        "answered_time": call["answer_us"],
        "hangup_time": call["end_us"],
        "transfer_time": "0",
    }
    return {**captured, "caller_profile": caller, "times": times}


def _app_log(call):
    if call["app"]:
        return [{"app_name": call["app"], "app_data": call["app_args"], "app_stamp": call["answer_us"]}]
    captured = template("answered")
    answered_at = int(captured["variables"]["answer_uepoch"])
    shift = int(call["answer_us"]) - answered_at
    return [{**app, "app_stamp": str(int(app["app_stamp"]) + shift)} for app in captured["app_log"]["applications"]]


def _call_stats(captured, variables):
    """The audio counters, which mod_json_cdr prints from the same counters as the rtp_audio_* variables."""
    audio = captured["audio"]
    inbound = {key: _number(variables.get(_IN + key), value) for key, value in audio["inbound"].items()}
    outbound = {
        key: _number(variables.get((_RTCP if key.startswith("rtcp_") else _OUT) + key), value)
        for key, value in audio["outbound"].items()
    }
    return {"audio": {"inbound": inbound, "outbound": outbound}}


def _number(text, default):
    """A variable's number as cJSON prints it (a whole float without its ".0")."""
    if text is None:
        return default
    value = float(text)
    return int(value) if value.is_integer() else value
