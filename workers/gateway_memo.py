"""Gateway statuses the fleet learned in the last second, in Redis (dialer.rules.gateway.StatusMemo).

Every originate task used to ask the switch `sofia status gateway` before dialing: one api
round trip per refill, on the switch's CPU as much as ours. A status any worker learned within
the last second is as good, since a job result that says otherwise (GATEWAY_DOWN,
INVALID_GATEWAY) forgets it at once. Redis being unreachable just means asking the switch.
"""

import logging

import redis

log = logging.getLogger(__name__)

REMEMBER_MS = 1000


class RedisGatewayMemo:
    def __init__(self, redis_client, switch_name, remember_ms=REMEMBER_MS):
        self.redis, self.switch_name, self.remember_ms = redis_client, switch_name, remember_ms

    def key(self, gateway_id):
        return f"dialer:gateway:{self.switch_name}:{gateway_id}"

    def get(self, gateway_id):
        try:
            value = self.redis.get(self.key(gateway_id))
        except redis.RedisError as exc:
            log.warning("event=gateway_memo_unavailable error=%s", exc)
            return None
        return value.decode() if value else None

    def put(self, gateway_id, status):
        try:
            self.redis.set(self.key(gateway_id), status, px=self.remember_ms)
        except redis.RedisError as exc:
            log.warning("event=gateway_memo_unavailable error=%s", exc)

    def forget(self, gateway_id):
        try:
            self.redis.delete(self.key(gateway_id))
        except redis.RedisError as exc:  # remembered for a second at most anyway
            log.warning("event=gateway_memo_unavailable error=%s", exc)


def forget_refused(redis_client, refused):
    """Forget the statuses of gateways a job result refused: (switch, gateway) pairs."""
    for switch_name, gateway_id in refused:
        if switch_name and gateway_id:
            RedisGatewayMemo(redis_client, switch_name).forget(gateway_id)
