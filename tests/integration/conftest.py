"""Fixtures of the integration tests that run task bodies (a worker runtime) against the switch
simulator over TCP, on the test database and Redis."""

import pytest
import redis

from dialer.config import SwitchConfig
from sim.switch import SwitchSimulator
from tests.conftest import make_settings
from workers import runtime as runtimes
from workers.app import celery_app


@pytest.fixture
def switch():
    with SwitchSimulator(port=0, time_scale=0.001) as simulator:
        yield simulator


@pytest.fixture
def rt(switch, database_url, redis_url, session_factory):
    """A worker's runtime on the simulator (switch `sw1`), installed for the tasks; Redis emptied."""
    flush = redis.Redis.from_url(redis_url)
    flush.flushdb()
    flush.close()
    switches = (SwitchConfig("sw1", "127.0.0.1", switch.port, "ClueCon", 10, 100.0),)
    settings = make_settings(database_url, redis_url, switches=switches, reconcile_grace_seconds=0.5)
    runtime = runtimes.Runtime(settings)
    runtimes.use_runtime(runtime)
    celery_app.conf.broker_url = redis_url  # the tasks' own enqueues go to the test Redis
    yield runtime
    runtimes.use_runtime(None)
    runtime.close()


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    """A redis-server of the test module's own (a broker no other test's worker reads)."""
    from tests.e2e.fleet import OwnRedis

    server = OwnRedis(tmp_path_factory.mktemp("broker")).start()
    yield server
    server.stop()


@pytest.fixture
def broker(own_redis):
    """A client of `own_redis`, emptied for the test."""
    client = redis.Redis.from_url(own_redis.url)
    client.flushdb()
    yield client
    client.close()
