"""`dialer run`: prepare the environment (embedded servers, simulators, tokens), migrate, and
start the Procfile processes under a supervisor.

A PaaS restarts a process of the Procfile that exits (a crash, an OOM kill, a lost dependency);
`Supervisor` does the same for `make run`: honcho's Manager, except that a process that exits is
started again after a backoff (1 s, doubling to 30 s, back to 1 s once it stayed up 30 s) instead of
stopping the whole fleet. One-shot processes (the demo) are left stopped. Ctrl-C or SIGTERM still
stops everything, and then the embedded servers this run started (unless another run still uses them;
see dialer/adapters/embedded_runs.py); it says what it stopped and what it kept.
"""

import json
import multiprocessing
import os
import queue
import secrets
import signal
import sys
import time
from pathlib import Path

from honcho.manager import KILL_WAIT, SIGNALS, Manager

from dialer.adapters.db import migrate
from dialer.adapters.embedded import apply_embedded_defaults, embedded_servers, state_dir
from dialer.adapters.embedded_runs import EmbeddedRun
from dialer.adapters.metrics import MULTIPROC_ENV, fresh_folder
from dialer.config import ConfigError, load_settings

SIMULATED_SWITCH = json.dumps([{"name": "sim", "host": "127.0.0.1", "port": 8021, "password": "ClueCon",
                                "capacity": 30, "cps": 20}])
ONE_SHOT = {"demo"}  # runs once and exits 0: never restarted
SIMULATORS = {
    # It posts CDRs to the dialer as mod_json_cdr does (the credentials are filled in at start).
    "switch-sim": "python -m sim.switch --port 8021 --password ClueCon --time-scale 0.2"
                  " --cdr-url http://127.0.0.1:8000/cdr --cdr-credentials {cdr_credentials}",
    "vc-sim": "python -m sim.connector --port 8088 --dialer-url http://127.0.0.1:8000",
}


def prepare_environment(environ, for_run=False):
    """Fill in what a fresh machine lacks; returns the names of the simulators to start.

    for_run: `dialer run` holds a lease on the embedded servers (the servers it starts stop with it)."""
    embedded = apply_embedded_defaults(environ, for_run=for_run)
    if embedded:
        _dev_tokens(environ, state_dir(environ))
    simulators = []
    if not environ.get("DIALER_SWITCHES"):
        environ["DIALER_SWITCHES"] = SIMULATED_SWITCH
        simulators.append("switch-sim")
        if not environ.get("DIALER_CDR_USER"):  # the simulated switch posts CDRs with these
            environ["DIALER_CDR_USER"] = "cdr"
            environ["DIALER_CDR_PASSWORD"] = secrets.token_urlsafe(18)
    if not environ.get("DIALER_VC_URL"):
        environ["DIALER_VC_URL"] = "http://127.0.0.1:8088"
        simulators.append("vc-sim")
    environ.setdefault("DIALER_STATE_DIR", str(state_dir(environ)))
    # Every process of the fleet counts into its own file here; the web process adds them up.
    environ.setdefault(MULTIPROC_ENV, str(Path(environ["DIALER_STATE_DIR"]) / "metrics"))
    fresh_folder(environ[MULTIPROC_ENV])  # counters start from zero with the fleet
    return simulators


def _dev_tokens(environ, folder):
    """Embedded (development) mode only: tokens (and the dashboard's session secret) kept in the state
    folder across runs. The read token too, so that the read-only sign-in can be tried out of the box."""
    token_file = folder / "tokens.env"
    saved = dict(line.split("=", 1) for line in token_file.read_text().split()) if token_file.exists() else {}
    for name in ("DIALER_API_TOKEN", "DIALER_READ_TOKEN", "DIALER_CONNECTOR_TOKEN", "DIALER_SECRET_KEY"):
        if not environ.get(name):
            environ[name] = saved.get(name) or secrets.token_urlsafe(24)
            saved[name] = environ[name]
    folder.mkdir(parents=True, exist_ok=True)
    token_file.write_text("".join(f"{k}={v}\n" for k, v in saved.items()))
    token_file.chmod(0o600)


def procfile_processes(path="Procfile"):
    processes = {}
    for line in Path(path).read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and not line.startswith("#") and name.strip() != "release":
            processes[name.strip()] = command.strip()
    return processes


def run(environ=None):
    env = dict(os.environ if environ is None else environ)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # until the supervisor's own handler: still ends the lease
    lease = EmbeddedRun(state_dir(env), "dialer run", embedded_servers(env)).begin()
    try:
        returncode = _run_fleet(env)
    except KeyboardInterrupt:  # Ctrl-C before the supervisor took over (while migrating)
        returncode = 130
    finally:
        _end_lease(lease)
    sys.exit(returncode)


def _run_fleet(env):
    simulators = prepare_environment(env, for_run=True)
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        sys.exit(f"dialer: {exc}")
    migrate(settings.database_url)
    cdr_credentials = f"{env.get('DIALER_CDR_USER', '')}:{env.get('DIALER_CDR_PASSWORD', '')}"
    processes = {name: SIMULATORS[name].format(cdr_credentials=cdr_credentials) for name in simulators}
    processes.update(procfile_processes())
    if "switch-sim" in simulators and env.get("DIALER_DEMO", "1") != "0":
        processes["demo"] = "dialer demo"
    _announce(env, simulators)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    supervisor = Supervisor()
    for name, command in processes.items():
        supervisor.add_process(name, command, env=env, one_shot=name in ONE_SHOT)
    supervisor.loop()
    return supervisor.returncode


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def _end_lease(lease):
    """Stop the embedded servers that are this run's to stop, and say what was stopped and kept; a second
    Ctrl-C or SIGTERM meanwhile does not cut this short (it takes a few seconds at most)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    for line in lease.end().lines():
        print("dialer:", line)
    sys.stdout.flush()


def _announce(env, simulators):
    print("dialer: database  ", env["DATABASE_URL"])
    print("dialer: broker    ", env["REDIS_URL"])
    print("dialer: API        http://127.0.0.1:8000  (Flower http://127.0.0.1:5555)")
    print("dialer: API token  ", env["DIALER_API_TOKEN"])
    if env.get("DIALER_READ_TOKEN"):
        print("dialer: read token ", env["DIALER_READ_TOKEN"])
    print("dialer: dashboard   http://127.0.0.1:8000/dashboard  (sign in with the API or the read token)")
    if simulators:
        print("dialer: no switch configured: starting", ", ".join(simulators))
    sys.stdout.flush()


class Supervisor(Manager):
    """honcho's Manager that restarts a process that exits, with a backoff, unless it is one-shot."""

    def __init__(self, printer=None, first_delay=1.0, max_delay=30.0, steady_after=30.0):
        super().__init__(printer)
        self.first_delay, self.max_delay, self.steady_after = first_delay, max_delay, steady_after
        self._one_shot = set()
        self._restart_at = {}  # name -> monotonic time of its next start

    def add_process(self, name, cmd, one_shot=False, **kwargs):
        if one_shot:
            self._one_shot.add(name)
        process = super().add_process(name, cmd, **kwargs)
        self._processes[name]["delay"] = self.first_delay
        return process

    def loop(self):
        def _terminate(signum, frame):
            self._system_print(f"{SIGNALS[signum]['name']} received\n")
            self.returncode = SIGNALS[signum]["rc"]
            self.terminate()

        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        for name in self._processes:
            self._start_one(name)
        kill_at = None
        while True:
            try:
                self._handle(self.events.get(timeout=0.1))
            except queue.Empty:
                pass
            now = time.monotonic()
            if self._terminating:
                self._restart_at.clear()
                if not self._running():
                    break
                kill_at = kill_at or now + KILL_WAIT
                if now > kill_at:
                    self.kill()
                    kill_at = now + KILL_WAIT
                continue
            for name, when in list(self._restart_at.items()):
                if now >= when:
                    del self._restart_at[name]
                    self._start_one(name)
            if not self._running() and not self._restart_at:  # only one-shots, all done
                break
        if self.returncode is None:
            self.returncode = 0

    def _handle(self, message):
        p = self._processes[message.name]
        if message.type == "line":
            self._printer.write(message)
        elif message.type == "start":
            p.update(pid=message.data["pid"], started=time.monotonic())
            self._system_print(f"{message.name} started (pid={p['pid']})\n")
            if self._terminating:  # started while everything stops: stop it too
                self._procmgr.terminate(p["pid"])
        elif message.type == "stop":
            code = p["returncode"] = message.data["returncode"]
            if self._terminating or message.name in self._one_shot:
                self._system_print(f"{message.name} stopped (rc={code})\n")
                return
            if time.monotonic() - p["started"] >= self.steady_after:
                p["delay"] = self.first_delay
            delay, p["delay"] = p["delay"], min(p["delay"] * 2, self.max_delay)
            self._system_print(f"dialer: {message.name} exited with code {code}; restarting in {delay:.1f} s\n")
            self._restart_at[message.name] = time.monotonic() + delay

    def _start_one(self, name):
        p = self._processes[name]
        for key in ("pid", "returncode"):
            p.pop(key, None)
        p["process"] = multiprocessing.Process(name=name, target=p["obj"].run, args=(self.events, True))
        p["process"].start()

    def _running(self):
        return [name for name, p in self._processes.items() if "returncode" not in p]

    def _killall(self, force=False):
        """Signal the process group of every running process (one not yet started has no pid yet)."""
        for name, p in self._processes.items():
            if "returncode" not in p and "pid" in p:
                self._system_print(f"sending {'SIGKILL' if force else 'SIGTERM'} to {name} (pid {p['pid']})\n")
                (self._procmgr.kill if force else self._procmgr.terminate)(p["pid"])
