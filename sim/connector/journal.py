"""What the simulator saw and did, in order, for tests and operators to read back.

Two thread-safe logs: the messages the dialer sent us, and the callbacks we made to the dialer.
Readers get copies, so nothing they do changes the record.
"""

import copy
import threading
from datetime import UTC, datetime


def now_iso():
    return datetime.now(UTC).isoformat()


class _Log:
    def __init__(self):
        self._rows = []
        self._lock = threading.Lock()

    def append(self, **fields):
        with self._lock:
            row = {"seq": len(self._rows) + 1, **fields}
            self._rows.append(row)
            return copy.deepcopy(row)

    def rows(self, where=None):
        with self._lock:
            return [copy.deepcopy(row) for row in self._rows if where is None or where(row)]


class Journal:
    def __init__(self):
        self._messages = _Log()
        self._callbacks = _Log()

    def message(self, path, body, status):
        """Record one message from the dialer and the status we answered it with."""
        return self._messages.append(path=path, body=body, received_at=now_iso(),
                                     accepted=200 <= status < 300, status=status)

    def messages(self, path=None):
        return self._messages.rows(None if path is None else lambda row: row["path"] == path)

    def callback(self, body, status, error, sent_at):
        """Record one callback to the dialer: the HTTP status it answered, or why there was none."""
        return self._callbacks.append(body=body, status=status, error=error, sent_at=sent_at)

    def callbacks(self):
        return self._callbacks.rows()
