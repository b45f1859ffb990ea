"""HTTP edge of the VC simulator: translate requests to `Connector` calls and back, nothing more.

Dialer-facing routes (`/fs-message/...`, `/ccm/message/receive`, the agents query) obey the simulated failure modes;
the inspection and control routes never do, so a test can always read what happened and switch
a failure off again.
"""

import json
import time

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from sim.connector import paths

ERROR_STATUS = 500
MODES = ("up", "down", "slow", "error")


def create_app(sim):
    """`sim` is the ConnectorSimulator: its `connector`, `fault()`, `mode()`, `set_mode()`, the agents
    query's `agents_path` and `agents_endpoint`, and its inspection methods."""
    app = Flask("sim.connector")
    _register_dialer_routes(app, sim)
    _register_inspection_routes(app, sim)
    _register_error_handler(app)
    return app


def _register_dialer_routes(app, sim):
    @app.post(paths.START_PROCESS)
    def start_process():
        return _answer(sim, lambda path, body: sim.connector.start_process(body))

    @app.post("/fs-message/<path:rest>")
    def fs_message(rest):
        return _answer(sim, sim.connector.receive)

    @app.post(paths.CCM_RECEIVE)
    def ccm_receive():
        return _answer(sim, sim.connector.receive)

    @app.get(sim.agents_path)
    def agent_counts():
        if not sim.agents_endpoint:
            return jsonify({"error": "not found"}), 404
        return _answer_query(sim, lambda: (200, sim.agent_counts(request.args.get("queue"))))

    @app.get("/fs-message/<path:rest>")
    def unknown_query(rest):
        # Not a 405 (the POST catch-all has the same URL): a VC has no such resource.
        return jsonify({"error": "not found"}), 404


def _register_inspection_routes(app, sim):
    @app.get("/messages")
    def messages():
        return jsonify(sim.messages(path=request.args.get("path")))

    @app.get("/callbacks")
    def callbacks():
        return jsonify(sim.callbacks())

    @app.get("/agents")
    def agents():
        return jsonify(sim.agents())

    @app.get("/agents/report")
    def agent_report():
        return jsonify(sim.agent_report())

    @app.get("/agents/assignments")
    def assignments():
        return jsonify(sim.assignments())

    @app.get("/healthz")
    def healthz():
        return jsonify({"ok": True, **sim.mode()})

    @app.get("/control")
    def show_control():
        return jsonify(sim.mode())

    @app.post("/control")
    def control():
        body = _body()
        errors = control_errors(body)
        if errors:
            return jsonify({"error": "invalid control request", "fields": errors}), 400
        sim.set_mode(body["mode"], body.get("seconds"))
        return jsonify(sim.mode())


def _register_error_handler(app):
    @app.errorhandler(HTTPException)
    def http_error(exc):
        return jsonify({"error": exc.description}), exc.code


def _answer(sim, handle):
    """Run `handle(path, body)` unless a failure mode says otherwise; slow mode answers late."""
    mode, seconds = sim.fault()
    body = _body()
    if mode == "error":
        status, payload = sim.connector.refuse(request.path, body, ERROR_STATUS)
    else:
        status, payload = handle(request.path, body)
    if mode == "slow":
        time.sleep(seconds)  # the simulated slowness itself: the message is handled, the answer is late
    return jsonify(payload), status


def _answer_query(sim, handle):
    """A dialer-facing query under the failure modes; it changes nothing and, polled every few
    seconds, would drown the record of messages, so it is not recorded."""
    mode, seconds = sim.fault()
    if mode == "error":
        return jsonify({"error": "simulated connector failure"}), ERROR_STATUS
    status, payload = handle()
    if mode == "slow":
        time.sleep(seconds)
    return jsonify(payload), status


def _body():
    """The request body as JSON when it parses, else the raw text (recorded as sent), None when empty."""
    text = request.get_data(as_text=True)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def control_errors(body):
    """`{field: [reason]}` for a `POST /control` body. Over HTTP, "down" needs `seconds`: nothing
    could bring it back up otherwise."""
    if not isinstance(body, dict):
        return {"_body": ["must be a JSON object"]}
    errors = {}
    mode, seconds = body.get("mode"), body.get("seconds")
    if mode not in MODES:
        errors["mode"] = ["must be one of " + ", ".join(MODES)]
    is_number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
    if seconds is not None and not (is_number and seconds >= 0):
        errors["seconds"] = ["must be a number >= 0"]
    elif seconds is None and mode in ("down", "slow"):
        errors["seconds"] = [f"required for {mode}"]
    return errors
