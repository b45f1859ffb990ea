"""What tests read back from a Celery broker on Redis, and a failed task's status."""

import base64
import json

from dialer.adapters.models import FailedTask


def queued(broker, queue):
    """(task name, task id, args, kwargs) of every message waiting in `queue`, oldest first."""
    messages = []
    for raw in reversed(broker.lrange(queue, 0, -1)):
        message = json.loads(raw)
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        messages.append((message["headers"]["task"], message["headers"]["id"], args, kwargs))
    return messages


def status_of(session, failed_id):
    """A failed task's status as committed now."""
    session.rollback()
    return session.get(FailedTask, failed_id).status
