"""kombu's Redis transport with one fix, so a worker survives a Redis restart.

The bug (kombu 5.7.0, celery 5.7.0; the symptom of kombu issue #582): kombu's Redis
`Channel.close()` first reads the reply of a BRPOP still in flight (kombu PR #1733, so that a task
Redis already popped is not lost) but expects only `Empty` from that read. When the broker is gone,
the read raises a connection error and the close stops half-way, the channel still open. On a lost
connection Celery's consumer calls `Connection.collect()`, which swallows that error and drops the
transport's `client`, then `Connection.close()`, which closes the same channel again. This time
there is no BRPOP in flight, so the close goes on to give back the worker's unacked messages,
needs a new connection pool for that, and reads `transport.client.hostname` from None:
`AttributeError: 'NoneType' object has no attribute 'hostname'`. That is not a connection error, so
the worker stops with "Unrecoverable error". It takes a pending BRPOP and unacked (prefetched or
running) messages at the moment Redis dies, which a busy worker usually has.

The fix: a failed read of that reply means the connection is dead (the reply is lost with it), so
the close goes on and the channel is closed the first time. `install()` registers this transport
under kombu's own "redis" and "rediss" names, so broker URLs keep their scheme (Flower and the
logs rely on it).
"""

import logging

from kombu import transport
from kombu.transport import redis
from kombu.transport.virtual import Empty

log = logging.getLogger(__name__)


class Channel(redis.Channel):
    def close(self):
        if self._in_poll:
            try:
                self._brpop_read()
            except Empty:
                pass
            except self.connection_errors as exc:
                log.warning("event=broker_connection_lost action=close_channel error=%s", exc)
        super().close()


class Transport(redis.Transport):
    Channel = Channel


def install():
    """Make `redis://` and `rediss://` broker URLs use this transport (in this process)."""
    for alias in ("redis", "rediss"):
        transport.TRANSPORT_ALIASES[alias] = f"{__name__}:Transport"
        transport._transport_cache.pop(alias, None)  # resolved before install(): resolve it again
