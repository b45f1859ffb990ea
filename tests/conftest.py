"""Fixtures shared by every test folder: real PostgreSQL and Redis (embedded unless the
environment names servers), a migrated test database, settings, the Flask app and its client."""

import json
import os
import signal

import pytest
from sqlalchemy import text

from dialer.adapters.db import make_engine, make_session_factory, migrate
from dialer.adapters.embedded import (
    apply_embedded_defaults,
    drop_database,
    embedded_servers,
    ensure_database,
    state_dir,
    with_database,
)
from dialer.adapters.embedded_runs import EmbeddedRun
from dialer.config import Settings, SwitchConfig

API_TOKEN = "test-api-token"
CONNECTOR_TOKEN = "test-connector-token"
READ_TOKEN = "test-read-token"
TABLES = ("outbox", "call_attempts", "contacts", "campaigns", "dialable_backlog", "call_events", "campaign_settings",
          "dnc_numbers", "calling_windows", "failed_tasks", "predictive_calls", "campaign_pacing")


EMBEDDED_RUN = pytest.StashKey[EmbeddedRun]()


def pytest_configure(config):
    """The test session holds a lease on the embedded servers, taken and given back by the controller
    process only: pytest-xdist's workers start servers for it (`service_urls`), and at the end the session
    stops those no other run (a `make run`, another test session) still uses."""
    if not hasattr(config, "workerinput"):
        config.stash[EMBEDDED_RUN] = EmbeddedRun(state_dir(), "pytest", embedded_servers(os.environ)).begin()
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:  # `make test` stopped, a CI job cancelled
            signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame):
    """SIGTERM ends the session as Ctrl-C does: fixtures torn down, the lease given back."""
    raise KeyboardInterrupt


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    """After the session fixtures are torn down (their test databases dropped) and the workers finished."""
    if EMBEDDED_RUN in session.config.stash:
        session.config.stash[EMBEDDED_RUN].end()


def pytest_terminal_summary(terminalreporter, config):
    if EMBEDDED_RUN in config.stash and config.stash[EMBEDDED_RUN].ending is not None:
        for line in config.stash[EMBEDDED_RUN].ending.lines():
            terminalreporter.write_line(f"dialer: {line}")


def pytest_unconfigure(config):
    if EMBEDDED_RUN in config.stash:  # a session that never ran (--help, a usage error)
        config.stash[EMBEDDED_RUN].end()


@pytest.fixture(scope="session")
def service_urls():
    """DATABASE_URL (of the server) and REDIS_URL: from the environment, else embedded servers, started
    for this test session's run (see pytest_configure)."""
    env = {k: os.environ[k] for k in ("DATABASE_URL", "REDIS_URL") if os.environ.get(k)}
    apply_embedded_defaults(env, database="postgres", for_run=True)
    return env


@pytest.fixture(scope="session")
def database_url(service_urls):
    """A fresh, migrated database for this test session (one per xdist worker and process, so
    test runs side by side never share one)."""
    server = with_database(service_urls["DATABASE_URL"], "postgres")
    name = f"dialer_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    drop_database(server, name)
    url = ensure_database(server, name)
    migrate(url)
    yield url
    drop_database(server, name)


@pytest.fixture(scope="session")
def redis_url(service_urls):
    """Logical database 1 of the Redis server: tests flush it, so never the fleet's own 0."""
    from redis.connection import parse_url

    url = service_urls["REDIS_URL"]
    base = url.split("?")[0].rsplit("/", 1)[0] if parse_url(url).get("db") is not None else url.rstrip("/")
    return base + "/1"


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine):
    """A session factory on a database emptied before the test."""
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE"))
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory):
    session = session_factory()
    yield session
    session.close()


def make_settings(database_url, redis_url, **overrides):
    values = dict(
        database_url=database_url,
        redis_url=redis_url,
        api_token=API_TOKEN,
        connector_token=CONNECTOR_TOKEN,
        read_token=READ_TOKEN,
        switches=(SwitchConfig("sw1", "127.0.0.1", 8021, "ClueCon", 10, 100.0),),
        vc_url="http://127.0.0.1:8088",
        default_ivr="6666",
        dialplan_context="default",
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url, redis_url):
    return make_settings(database_url, redis_url)


@pytest.fixture
def app(settings, session_factory):
    from api import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    from api.extensions import db

    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth():
    return {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def read_auth():
    return {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.fixture
def connector_auth():
    return {"Authorization": f"Bearer {CONNECTOR_TOKEN}"}


def switches_json(*switches):
    return json.dumps([s.__dict__ for s in switches])
