"""A clean stop: a run (`dialer run`, a test session) that ends stops the embedded servers it started,
unless another run still uses them; servers running before it (`dialer services up`) or given by URL are
never stopped by it, and it says how to stop them. Each test has the state folder to itself."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer.adapters.embedded import (
    alive,
    apply_embedded_defaults,
    embedded_servers,
    runtime_dir,
    server_pid,
    state_dir,
    stop_embedded,
)
from dialer.adapters.embedded_runs import EmbeddedRun
from dialer.ops.cli import main
from sim.testing import wait_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVERS = ("postgres", "redis")
# `dialer run` reads ./Procfile: one process instead of the fleet, a switch and a VC configured (no simulators).
PROCFILE = 'sleeper: python -c "import time; time.sleep(120)"\n'
FLEET_ENV = {"DIALER_SWITCHES": '[{"name": "sw", "host": "127.0.0.1", "port": 1, "password": "x", "capacity": 1,'
                                ' "cps": 1}]',
             "DIALER_VC_URL": "http://127.0.0.1:9"}
# A test session of its own (tests/conftest.py as a plugin): each test notes the servers' pids it used; with
# PROBE_BLOCK, test_one then waits (60 s at most) for the session to be stopped.
PROBE = """
import os
import threading
from dialer.adapters.embedded import server_pid, state_dir

def note_servers():
    with open(os.environ["PROBE_PIDS"], "a") as out:
        out.write(f"{server_pid(state_dir(), 'postgres')} {server_pid(state_dir(), 'redis')}\\n")

def test_one(service_urls):
    note_servers()
    if os.environ.get("PROBE_BLOCK"):
        threading.Event().wait(60)

def test_two(service_urls):
    note_servers()
"""


@pytest.fixture(scope="module")
def state():
    """One state folder for the module, so PostgreSQL's initdb runs once. Not under pytest's temporary
    folder: run as root, PostgreSQL runs as its own user, and any pytest session that starts (the ones these
    tests start included) makes that folder private to root again."""
    runtime_dir(state_dir())  # the session's, not one in this folder, which would be made again at exit
    folder = Path(tempfile.mkdtemp(prefix="dialer-clean-stop-"))
    yield folder / "state"
    stop_embedded(folder / "state")
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def folder(state):
    """The state folder with no server running and no run holding a lease, before and after the test."""
    yield state
    stop_embedded(state)
    shutil.rmtree(state / "runs", ignore_errors=True)


def running(folder):
    return {name: server_pid(folder, name) for name in SERVERS if server_pid(folder, name)}


def use(folder, **how):
    return apply_embedded_defaults({"DIALER_STATE_DIR": str(folder)}, **how)


def subprocess_env(folder, **extra):
    """This environment without the servers' URLs (so the embedded ones are used) or pytest's own variables."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("PYTEST_")}
    return {**env, "DIALER_STATE_DIR": str(folder), "PYTHONUNBUFFERED": "1", **extra}


def test_a_run_stops_the_servers_it_started_when_it_ends(folder):
    run = EmbeddedRun(folder, "dialer run").begin()
    use(folder, for_run=True)
    pids = running(folder)
    assert set(pids) == set(SERVERS)
    ending = run.end()
    assert ending.stopped == pids
    assert [pid for pid in pids.values() if alive(pid)] == []
    assert ending.lines() == [f"stopped the embedded PostgreSQL (pid {pids['postgres']})",
                              f"stopped the embedded Redis (pid {pids['redis']})"]


def test_a_run_that_ends_while_another_run_uses_the_servers_leaves_them_to_the_last_run(folder):
    first = EmbeddedRun(folder, "dialer run").begin()
    use(folder, for_run=True)
    second = EmbeddedRun(folder, "pytest").begin()
    use(folder, for_run=True)  # finds them running
    pids = running(folder)
    ending = first.end()
    assert ending.stopped == {} and set(ending.shared) == set(SERVERS)
    assert running(folder) == pids
    assert ending.lines()[0] == (f"left the embedded PostgreSQL running for pid {os.getpid()} (pytest), which"
                                 f" still uses it (the last run to end stops it)")
    assert second.end().stopped == pids
    assert running(folder) == {}


def test_servers_started_before_the_run_are_kept_and_the_run_says_how_to_stop_them(folder):
    use(folder, keep=True)  # `dialer services up`
    pids = running(folder)
    run = EmbeddedRun(folder, "dialer run").begin()
    use(folder, for_run=True)
    ending = run.end()
    assert ending.stopped == {} and ending.kept == list(SERVERS)
    assert running(folder) == pids
    assert ending.lines() == ["kept the embedded PostgreSQL and Redis running: started before this run (e.g."
                              f" `dialer services up`); stop with `DIALER_STATE_DIR={folder} dialer services stop`"]


def test_dialer_services_up_keeps_the_servers_a_run_started(folder):
    run = EmbeddedRun(folder, "dialer run").begin()
    use(folder, for_run=True)
    pids = running(folder)
    result = CliRunner().invoke(main, ["services", "up"], env={"DIALER_STATE_DIR": str(folder)})
    assert result.exit_code == 0, result.output
    assert run.end().kept == list(SERVERS)
    assert running(folder) == pids


def test_a_run_given_database_url_and_redis_url_stops_no_embedded_server(folder):
    use(folder, for_run=True)  # started for a run that is gone
    pids = running(folder)
    env = {"DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r:1/0"}
    run = EmbeddedRun(folder, "dialer run", servers=embedded_servers(env)).begin()
    assert run.end().lines() == []
    assert running(folder) == pids


def test_a_run_killed_outright_leaves_its_servers_to_the_next_run_that_ends(folder):
    killed = ("import os, signal, sys\n"
              "from dialer.adapters.embedded import apply_embedded_defaults\n"
              "from dialer.adapters.embedded_runs import EmbeddedRun\n"
              "EmbeddedRun(sys.argv[1], 'dialer run').begin()\n"
              "apply_embedded_defaults({'DIALER_STATE_DIR': sys.argv[1]}, for_run=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    process = subprocess.run([sys.executable, "-c", killed, str(folder)], cwd=ROOT, timeout=60)
    assert process.returncode == -signal.SIGKILL
    pids = running(folder)
    assert set(pids) == set(SERVERS) and list((folder / "runs").glob("lease-*"))  # its stale lease
    run = EmbeddedRun(folder, "dialer run").begin()
    use(folder, for_run=True)
    assert run.end().stopped == pids


class DialerRun:
    """`dialer run` in a subprocess, in a folder of its own with a one-process Procfile."""

    def __init__(self, folder, cwd):
        self.folder, self.cwd = folder, cwd
        (cwd / "Procfile").write_text(PROCFILE)
        self.log = cwd / "dialer-run.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([str(BIN / "dialer"), "run"], cwd=cwd, stdout=log,
                                            stderr=subprocess.STDOUT, env=subprocess_env(folder, **FLEET_ENV),
                                            start_new_session=True)
        wait_for(lambda: "sleeper started" in self.output() or self.process.poll() is not None, timeout=60,
                 message="dialer run to start its process")
        assert self.process.poll() is None, self.output()

    def output(self):
        return self.log.read_text(errors="replace")

    def stop(self, signum):
        self.process.send_signal(signum)
        return self.process.wait(timeout=30)

    def cleanup(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def dialer_run(folder, tmp_path):
    """Starts `dialer run` in the state folder; whatever happens in the test, it is not left running."""
    runs = []

    def start():
        runs.append(DialerRun(folder, tmp_path))
        return runs[-1]

    yield start
    for run in runs:
        run.cleanup()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_dialer_run_stopped_stops_the_embedded_servers_it_started(folder, dialer_run, signum):
    run = dialer_run()
    pids = running(folder)
    assert set(pids) == set(SERVERS)
    assert run.stop(signum) == 128 + signum
    assert [pid for pid in pids.values() if alive(pid)] == []
    assert f"dialer: stopped the embedded PostgreSQL (pid {pids['postgres']})" in run.output()
    assert f"dialer: stopped the embedded Redis (pid {pids['redis']})" in run.output()


class ProbeSession:
    """pytest over PROBE with tests/conftest.py, in a subprocess, in the state folder."""

    def __init__(self, folder, tmp_path, *args, **env):
        probe = tmp_path / "probe" / "test_probe.py"
        probe.parent.mkdir()
        probe.write_text(PROBE)
        self.pids_file = tmp_path / "probe" / "pids"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
             "--rootdir", str(probe.parent), *args, str(probe)],
            cwd=ROOT, env=subprocess_env(folder, PROBE_PIDS=str(self.pids_file), **env), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)

    def finish(self):
        """(return code, output) once it ended (90 s at most)."""
        try:
            output, _ = self.process.communicate(timeout=90)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode, output

    def seen(self):
        """The (postgres, redis) pids its tests saw."""
        lines = self.pids_file.read_text().splitlines() if self.pids_file.exists() else []
        return {tuple(int(pid) for pid in line.split()) for line in lines}


def run_probe_session(folder, tmp_path, *args):
    """Run PROBE to its end; returns (output, the pids the tests saw)."""
    session = ProbeSession(folder, tmp_path, *args)
    returncode, output = session.finish()
    assert returncode == 0, output
    return output, session.seen()


def test_a_test_session_stops_the_servers_its_xdist_workers_started_once_they_are_done(folder, tmp_path):
    output, seen = run_probe_session(folder, tmp_path, "-n", "2")
    assert "2 passed" in output
    [(postgres, redis)] = seen  # both workers used the same servers
    assert not alive(postgres) and not alive(redis)
    assert f"dialer: stopped the embedded PostgreSQL (pid {postgres})" in output
    assert running(folder) == {}


def test_a_test_session_stopped_with_sigterm_stops_the_servers_it_started(folder, tmp_path):
    session = ProbeSession(folder, tmp_path, PROBE_BLOCK="1")
    wait_for(session.seen, timeout=60, message="the probe's first test to use the servers")
    session.process.send_signal(signal.SIGTERM)
    returncode, output = session.finish()
    [(postgres, redis)] = session.seen()
    assert returncode != 0 and "KeyboardInterrupt" in output
    assert not alive(postgres) and not alive(redis)
    assert f"dialer: stopped the embedded Redis (pid {redis})" in output


def test_a_test_session_leaves_the_servers_of_a_dialer_run_still_running_and_that_run_stops_them(
        folder, tmp_path, dialer_run):
    run = dialer_run()
    pids = running(folder)
    output, seen = run_probe_session(folder, tmp_path)
    assert seen == {(pids["postgres"], pids["redis"])}
    assert running(folder) == pids
    assert f"left the embedded Redis running for pid {run.process.pid} (dialer run)" in output
    assert run.stop(signal.SIGTERM) == 128 + signal.SIGTERM
    assert running(folder) == {}
