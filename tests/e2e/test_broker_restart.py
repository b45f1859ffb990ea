"""The fleet keeps dialing across Redis (broker) restarts: Redis is killed with SIGKILL mid-campaign
and started again on the same port and data; no process of the fleet exits and every contact ends.

The fleet here has its own Redis, database and simulators, so the shared ones are not disturbed. Its
worker runs the Procfile's command (gossip, mingle and heartbeats on, as in production). Without the
workaround in workers/broker.py, the worker exited ("Unrecoverable error: AttributeError ... 'hostname'")
in 3 of 4 runs of this test."""

import os
from collections import Counter

import pytest

from dialer.adapters.db import make_engine, migrate
from dialer.adapters.embedded import drop_database, ensure_database, with_database
from sim.connector.server import ConnectorSimulator
from sim.switch import SwitchSimulator
from tests.conftest import CONNECTOR_TOKEN
from tests.e2e.contacts import all_in, attempts, contacts, rows, statuses
from tests.e2e.fleet import PROCESSES, Fleet, OwnRedis, wait_until

LOST = "Connection to broker lost"  # the worker's warning when its broker connection drops
SUCCEEDED = "] succeeded in "  # the worker's line for each task done (INFO, the Procfile's level)
RESTARTS = 5


@pytest.fixture
def own_engine(service_urls):
    server = with_database(service_urls["DATABASE_URL"], "postgres")
    name = f"dialer_test_broker_restart_{os.getpid()}"
    drop_database(server, name)
    url = ensure_database(server, name)
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_database(server, name)


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path / "redis").start()
    yield server
    server.kill()


@pytest.fixture
def own_fleet(own_engine, own_redis, tmp_path):
    with SwitchSimulator(port=0, time_scale=0.002, seed=11) as switch, \
            ConnectorSimulator(port=0, dialer_url="http://127.0.0.1:9", dialer_token=CONNECTOR_TOKEN,
                               agents=3, delay=0.02, wrap_up=0.02, seed=5) as connector:
        fleet = Fleet(own_engine.url.render_as_string(hide_password=False), own_redis.url, switch, connector,
                      tmp_path, capacity=10, extra_env={"WORKER_CONCURRENCY": "3"})
        connector.dialer_url = fleet.url
        try:
            fleet.start(*(name for name in PROCESSES if name != "worker"))
            fleet.start_procfile("worker")
            wait_until(lambda: switch.stats()["subscribers"] >= 2, timeout=30, message="both listeners to subscribe")
            yield fleet, switch
        finally:
            fleet.stop_all()


def exited(fleet):
    """The processes of the fleet that exited, with their exit codes."""
    return {name: process.poll() for name, process in fleet.processes.items() if process.poll() is not None}


def test_the_fleet_keeps_dialing_across_redis_restarts_and_no_process_exits(own_fleet, own_engine, own_redis):
    fleet, switch = own_fleet
    before = contacts("before", 30)
    fleet.post_contacts(before)
    ids = [c["id"] for c in before]
    wait_until(lambda: sum(s == "ended" for s in statuses(own_engine, ids).values()) >= 5, timeout=60,
               message="the campaign to be under way")

    def worker_log_counts(text, count):
        return fleet.log("worker").count(text) >= count or exited(fleet)

    for restart in range(1, RESTARTS + 1):
        # Killed while the worker runs tasks (the beat's ticks): what made a worker exit (workers/broker.py).
        own_redis.kill()
        wait_until(lambda n=restart: worker_log_counts(LOST, n), timeout=30, message="the worker to see Redis gone")
        own_redis.start()
        done = fleet.log("worker").count(SUCCEEDED)
        wait_until(lambda n=done: worker_log_counts(SUCCEEDED, n + 5), timeout=60,
                   message="the worker to run tasks again")
        assert not exited(fleet), {name: fleet.log(name)[-3000:] for name in exited(fleet)}

    after = contacts("after", 20)
    fleet.post_contacts(after)
    ids += [c["id"] for c in after]
    wait_until(lambda: all_in(own_engine, ids, ("ended", "failed")), timeout=180,
               message="every contact to reach a final state")

    assert not exited(fleet), {name: fleet.log(name)[-3000:] for name in exited(fleet)}
    assert "Unrecoverable error" not in fleet.log("worker")
    stored = rows(own_engine, ids)
    assert Counter(row.status for row in stored.values()) == Counter(ended=len(ids))
    # Nobody was dialed twice, whatever the broker lost or redelivered.
    ours = Counter(o.variables.get("dialer_contact_id") for o in switch.originates)
    assert all(ours[contact_id] == 1 for contact_id in ids), ours
    assert len(attempts(own_engine)) == len(ids)
