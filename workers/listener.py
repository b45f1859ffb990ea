"""`python -m workers.listener [--switch NAME ...]`: one event pump per switch, each in its own
thread with its own ESL connection, publishing results to the `results` queue."""

import argparse
import logging
import signal
import threading
import time

import redis

from dialer.config import ConfigError, load_settings
from dialer.esl import EslClient
from dialer.listener import EventPump
from workers.app import celery_app

log = logging.getLogger("workers.listener")


SEEN_SECONDS = 600


def first_sightings(redis_client, messages):
    """The messages no other listener has published yet: with two listeners on one switch, each
    result is recorded once (recording it twice would be harmless, only wasted work)."""
    pipeline = redis_client.pipeline(transaction=False)
    for message in messages:
        key = message.get("job_uuid") if message["type"] == "JobResult" else message.get("uuid")
        pipeline.set(f"dialer:seen:{message['type']}:{key}", "1", nx=True, ex=SEEN_SECONDS)
    return [message for message, first in zip(messages, pipeline.execute(), strict=True) if first]


def publisher(redis_url):
    redis_client = redis.Redis.from_url(redis_url)

    def publish(messages):
        try:
            messages = first_sightings(redis_client, messages)
        except redis.RedisError as exc:  # unsure whether seen: publish, recording is idempotent
            log.warning("event=dedupe_unavailable error=%s", exc)
        if not messages:
            return
        delay = 0.1
        while True:  # the switch buffers events meanwhile; results must not be dropped
            try:
                celery_app.send_task("dialer.record_events", args=[messages], queue="results")
                return
            except Exception as exc:  # kombu raises many types for a broker that is down
                log.error("event=publish_failed messages=%d error=%s retry_in=%.1f", len(messages), exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

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
                     settings.instance, publisher(settings.redis_url))


if __name__ == "__main__":
    main()
