"""`dialer run`'s supervisor, with real processes: one that exits is started again, a one-shot is not,
and stopping the supervisor stops every process it started."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from sim.testing import wait_for

ROOT = Path(__file__).resolve().parents[2]
# The supervisor as `dialer run` builds it, with a short backoff; argv: name=one_shot=command ...
DRIVER = """
import sys
from dialer.ops.launcher import Supervisor
supervisor = Supervisor(first_delay=0.2, max_delay=0.4, steady_after=30)
for spec in sys.argv[1:]:
    name, one_shot, command = spec.split("=", 2)
    supervisor.add_process(name, command, one_shot=one_shot == "1")
supervisor.loop()
sys.exit(supervisor.returncode)
"""
# Appends its pid to the file named by argv[1], then sleeps (or exits at once with --exit).
CHILD = """
import os, signal, sys, time
with open(sys.argv[1], "a") as pids:
    pids.write(f"{os.getpid()}\\n")
if "--ignore-sigterm" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if "--exit" not in sys.argv:
    time.sleep(60)
"""


class Supervised:
    """A supervisor subprocess and the pid files of its children."""

    def __init__(self, folder):
        self.folder = folder
        (folder / "child.py").write_text(CHILD)
        self.log = folder / "supervisor.log"
        self.process = None

    def start(self, **children):
        """children: name -> (one_shot, extra args of the child)."""
        specs = [f"{name}={int(one_shot)}={sys.executable} {self.folder / 'child.py'} {self.folder / name}.pids {args}"
                 for name, (one_shot, args) in children.items()]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-c", DRIVER, *specs], cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def pids(self, name):
        path = self.folder / f"{name}.pids"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def all_pids(self):
        return [pid for path in self.folder.glob("*.pids") for pid in self.pids(path.stem)]

    def output(self):
        return self.log.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def cleanup(self):
        """Whatever happened in the test: no process of it is left behind."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        for pid in self.all_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def supervised(tmp_path):
    supervised = Supervised(tmp_path)
    yield supervised
    supervised.cleanup()


def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_process_killed_with_sigkill_is_started_again_and_the_restart_is_logged(supervised):
    supervised.start(sleeper=(False, ""))
    [first] = wait_for(lambda: supervised.pids("sleeper"), timeout=30, message="the sleeper to start")
    os.kill(first, signal.SIGKILL)
    pids = wait_for(lambda: len(supervised.pids("sleeper")) == 2 and supervised.pids("sleeper"), timeout=30,
                    message="the sleeper to be started again")
    assert alive(pids[1]) and not alive(first)
    # -9, or 137 when the shell running the command reports its child's SIGKILL
    assert re.search(r"dialer: sleeper exited with code (-9|137); restarting in 0\.2 s", supervised.output())
    assert supervised.process.poll() is None


def test_a_process_that_exits_again_and_again_is_restarted_with_a_growing_backoff(supervised):
    supervised.start(flaky=(False, "--exit"))
    wait_for(lambda: len(supervised.pids("flaky")) >= 4, timeout=30, message="three restarts")
    output = supervised.output()
    assert "dialer: flaky exited with code 0; restarting in 0.2 s" in output
    assert "dialer: flaky exited with code 0; restarting in 0.4 s" in output  # doubled, up to max_delay


def test_a_one_shot_process_that_exits_is_not_started_again(supervised):
    # The flaky process has the same backoff: once it was restarted twice, the one-shot would have been too.
    supervised.start(demo=(True, "--exit"), flaky=(False, "--exit"))
    wait_for(lambda: len(supervised.pids("flaky")) >= 3, timeout=30, message="the flaky process to restart twice")
    assert len(supervised.pids("demo")) == 1
    assert "demo stopped (rc=0)" in supervised.output()
    assert "demo exited" not in supervised.output()


def test_stopping_the_supervisor_stops_every_process_it_started(supervised):
    supervised.start(sleeper=(False, ""), stubborn=(False, "--ignore-sigterm"), demo=(True, "--exit"))
    wait_for(lambda: supervised.pids("sleeper") and supervised.pids("stubborn") and supervised.pids("demo"),
             timeout=30, message="every process to start")
    wait_for(lambda: "stubborn started" in supervised.output(), timeout=30, message="the supervisor to see them")
    children = supervised.all_pids()
    supervised.stop()  # SIGTERM; the stubborn one gets SIGKILL after honcho's KILL_WAIT
    assert supervised.process.returncode == 143
    assert [pid for pid in children if alive(pid)] == []
    assert "sending SIGKILL to stubborn" in supervised.output()
