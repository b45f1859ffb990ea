"""One fleet and one pair of simulators for the end-to-end tests of a session; each test starts
from an empty database, an empty broker, all gateways as configured and an idle switch."""

import pytest
from sqlalchemy import func, select, text

from dialer.adapters.models import Contact
from dialer.rules import states
from sim.connector.server import ConnectorSimulator
from sim.switch import SwitchSimulator
from sim.testing import free_port
from tests.conftest import CONNECTOR_TOKEN, TABLES
from tests.e2e.fleet import CDR_PASSWORD, CDR_USER, PROCESSES, Fleet, flush_redis, wait_until

CAPACITY = 10


@pytest.fixture(scope="package")
def web_port():
    return free_port()


@pytest.fixture(scope="package")
def switch_sim(web_port):
    # It posts CDRs to the fleet's web process as mod_json_cdr does, when a test turns that on.
    with SwitchSimulator(port=0, time_scale=0.002, seed=7, cdr_url=f"http://127.0.0.1:{web_port}/cdr",
                         cdr_credentials=f"{CDR_USER}:{CDR_PASSWORD}", cdr_delay=0.2) as switch:
        switch.set_cdr(False)
        yield switch


@pytest.fixture(scope="package")
def vc_sim():
    # The dialer's URL is set once the fleet exists (its port is chosen then).
    with ConnectorSimulator(port=0, dialer_url="http://127.0.0.1:9", dialer_token=CONNECTOR_TOKEN,
                            agents=3, delay=0.02, wrap_up=0.02, seed=3) as connector:
        yield connector


@pytest.fixture(scope="package")
def running_fleet(database_url, redis_url, switch_sim, vc_sim, tmp_path_factory, web_port):
    flush_redis(redis_url)
    fleet = Fleet(database_url, redis_url, switch_sim, vc_sim, tmp_path_factory.mktemp("fleet"),
                  capacity=CAPACITY, web_port=web_port)
    vc_sim.dialer_url = fleet.url
    fleet.start()
    yield fleet
    fleet.stop_all()


@pytest.fixture
def fleet(running_fleet, engine, switch_sim, vc_sim, redis_url):
    """The running fleet, reset for this test."""
    for name in PROCESSES:
        if name not in running_fleet.processes:
            running_fleet.start(name)
    for extra in set(running_fleet.processes) - set(PROCESSES):  # a test's extra processes stop with it
        running_fleet.stop(extra)
    _wait_idle(engine)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE"))
    switch_sim.reset()
    switch_sim.set_cdr(False)
    vc_sim.reset()
    wait_until(lambda: switch_sim.stats()["subscribers"] >= 2, timeout=30, message="both listeners to subscribe")
    yield running_fleet


def _wait_idle(engine):
    def idle():
        with engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(Contact).where(Contact.status.in_(states.OCCUPYING_A_SLOT))
            ).scalar_one() == 0

    wait_until(idle, timeout=60, message="the previous test's calls to finish")
