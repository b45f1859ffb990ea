"""`dialer run`: prepare the environment (embedded servers, simulators, tokens), migrate, and
start the Procfile processes under honcho."""

import json
import os
import secrets
import sys
from pathlib import Path

from dialer.config import ConfigError, load_settings
from dialer.db import migrate
from dialer.embedded import apply_embedded_defaults, state_dir

SIMULATED_SWITCH = json.dumps([{"name": "sim", "host": "127.0.0.1", "port": 8021, "password": "ClueCon",
                                "capacity": 30, "cps": 20}])
SIMULATORS = {
    "switch-sim": "python -m sim.switch --port 8021 --password ClueCon --time-scale 0.2",
    "vc-sim": "python -m sim.connector --port 8088 --dialer-url http://127.0.0.1:8000",
}


def prepare_environment(environ):
    """Fill in what a fresh machine lacks; returns the names of the simulators to start."""
    embedded = apply_embedded_defaults(environ)
    if embedded:
        _dev_tokens(environ, state_dir(environ))
    simulators = []
    if not environ.get("DIALER_SWITCHES"):
        environ["DIALER_SWITCHES"] = SIMULATED_SWITCH
        simulators.append("switch-sim")
    if not environ.get("DIALER_VC_URL"):
        environ["DIALER_VC_URL"] = "http://127.0.0.1:8088"
        simulators.append("vc-sim")
    environ.setdefault("DIALER_STATE_DIR", str(state_dir(environ)))
    return simulators


def _dev_tokens(environ, folder):
    """Embedded (development) mode only: tokens kept in the state folder across runs."""
    token_file = folder / "tokens.env"
    saved = dict(line.split("=", 1) for line in token_file.read_text().split()) if token_file.exists() else {}
    for name in ("DIALER_API_TOKEN", "DIALER_CONNECTOR_TOKEN"):
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
    simulators = prepare_environment(env)
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        sys.exit(f"dialer: {exc}")
    migrate(settings.database_url)
    processes = {name: SIMULATORS[name] for name in simulators}
    processes.update(procfile_processes())
    if "switch-sim" in simulators and env.get("DIALER_DEMO", "1") != "0":
        processes["demo"] = "dialer demo"
    _announce(env, simulators)
    from honcho.manager import Manager

    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    manager = Manager()
    for name, command in processes.items():
        manager.add_process(name, command, env=env)
    manager.loop()
    sys.exit(manager.returncode)


def _announce(env, simulators):
    print("dialer: database  ", env["DATABASE_URL"])
    print("dialer: broker    ", env["REDIS_URL"])
    print("dialer: API        http://127.0.0.1:8000  (Flower http://127.0.0.1:5555)")
    print("dialer: API token  ", env["DIALER_API_TOKEN"])
    if simulators:
        print("dialer: no switch configured: starting", ", ".join(simulators))
    sys.stdout.flush()
