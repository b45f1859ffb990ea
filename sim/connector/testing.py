"""Test doubles and pytest fixtures for the VC simulator, for any test tree to import.

`FakeDialer` stands in for the dialer's `POST /dialer-connector/agent`: a real HTTP server on a free
port that records each request and answers the status the test chose (200, 404, 409, 503, ...).
"""

import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sim.connector.server import ConnectorSimulator, QuietRequestHandler

CONNECTOR_TOKEN = "test-connector-token"


class FakeDialer:
    def __init__(self, status=200):
        self.status = status  # what the next requests are answered with; tests may change it
        self._requests = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True,
                                   request_handler=QuietRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-dialer", daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.port}"

    def requests(self):
        """`[{"method", "path", "authorization", "json", "status"}]` in arrival order."""
        with self._lock:
            return list(self._requests)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _app(self, environ, start_response):
        request = Request(environ)
        status = self.status
        with self._lock:
            self._requests.append({"method": request.method, "path": request.path,
                                   "authorization": request.headers.get("Authorization"),
                                   "json": request.get_json(silent=True), "status": status})
        return Response('{"ok": true}', status=status, mimetype="application/json")(environ, start_response)


@pytest.fixture
def fake_dialer():
    with FakeDialer() as dialer:
        yield dialer


@pytest.fixture
def connector(fake_dialer):
    """A VC simulator on a free port calling `fake_dialer` back quickly, with 3 agents."""
    with ConnectorSimulator(port=0, dialer_url=fake_dialer.url, dialer_token=CONNECTOR_TOKEN, agents=3,
                            delay=0.05, wrap_up=0.1, hold=5.0, seed=7) as vc:
        yield vc
