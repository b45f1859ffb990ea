"""The switch simulator for the tests of sim/: a fresh one per test, time-scaled (60 s -> 60 ms)."""

import pytest

from sim.switch.testing import RawEslClient, switch_simulator_fixture

switch_sim = switch_simulator_fixture()


@pytest.fixture
def esl(switch_sim):
    """A raw ESL connection to the simulator, logged in."""
    client = RawEslClient(switch_sim.port).login()
    yield client
    client.close()
