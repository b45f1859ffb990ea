"""`python -m workers.listener [--switch NAME ...]`: one event pump per switch, each in its own
thread with its own ESL connection, writing results into the inbox (dialer/flows/inbox.py) and
nudging a worker to record them."""

import argparse
import logging
import signal
import threading
import time

import redis
from sqlalchemy.exc import SQLAlchemyError

from dialer.adapters.db import make_engine
from dialer.adapters.esl import EslClient
from dialer.config import ConfigError, load_settings
from dialer.flows import inbox
from dialer.flows.listener import EventPump
from workers.app import celery_app

log = logging.getLogger("workers.listener")


def publisher(database_url, redis_url):
    """publish(messages): into the result inbox first (durable, deduplicated there), then a nudge.

    The inbox write is retried until it succeeds (the switch buffers events meanwhile); nothing is
    marked or acknowledged before it, so a listener killed at any moment loses only what it alone
    had read, which the other listener and the switch's CDR also bring.
    """
    # No pre-ping (a round trip per batch): a connection found dead fails the write, is dropped
    # from the pool, and the retry gets a fresh one.
    engine = make_engine(database_url, pool_size=1, max_overflow=0, pool_pre_ping=False, pool_recycle=300)
    redis_client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)

    def publish(messages):
        delay = 0.1
        while True:
            try:
                with engine.begin() as connection:
                    new = inbox.store(connection, messages, inbox.EVENT)
                break
            except SQLAlchemyError as exc:
                log.error("event=inbox_write_failed messages=%d error=%s retry_in=%.1f", len(messages),
                          str(exc).splitlines()[0], delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        if new:
            try:
                inbox.nudge(redis_client, celery_app.send_task)
            except Exception as exc:  # kombu and redis raise many types; the beat's sweep covers it
                log.warning("event=nudge_failed error=%s", exc)

    return publish


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m workers.listener", description=__doc__)
    parser.add_argument("--switch", action="append", help="switch name (default: every configured switch)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise SystemExit(f"listener: {exc}") from exc
    names = args.switch or [s.name for s in settings.switches]
    pumps = [_pump(settings, name) for name in names]
    threads = [threading.Thread(target=p.run, name=f"listener-{p.switch_name}", daemon=True) for p in pumps]
    signal.signal(signal.SIGTERM, lambda *_: [p.stop() for p in pumps])
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(timeout=0.5)
    except KeyboardInterrupt:
        for pump in pumps:
            pump.stop()


def _pump(settings, name):
    switch = settings.switch(name)
    return EventPump(name, lambda: EslClient(switch.host, switch.port, switch.password),
                     settings.instance, publisher(settings.database_url, settings.redis_url),
                     machine_variables=settings.predictive.machine_variables)


if __name__ == "__main__":
    main()
