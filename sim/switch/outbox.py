"""What one client is owed, written in order under the transport's flow control.

Everything sent during a loop iteration goes out together (one flush per iteration), in chunks,
and only while the transport is not paused, so a slow reader leaves frames queued here rather than
in asyncio's write buffer (which gets slow when large). Events queue at most 100,000 deep, as in
mod_event_socket; a client that misses more than 500 is disconnected, as FreeSWITCH does with a
listener that does not keep up.
"""

from collections import deque

WRITE_CHUNK = 256 * 1024
HIGH_WATER = 1024 * 1024


class Outbox:
    max_queued_events = 100_000  # mod_event_socket.c MAX_QUEUE_LEN
    max_missed = 500  # mod_event_socket.c MAX_MISSED

    def __init__(self, loop, transport, frozen):
        self.loop, self.transport, self.frozen = loop, transport, frozen  # frozen() -> bool
        self.missed = 0
        self._frames = deque()  # (bytes, is_event)
        self._queued_events = 0
        self._paused = False
        self._flush_scheduled = False
        transport.set_write_buffer_limits(high=HIGH_WATER)

    def put(self, data, event=False):
        """Queue `data`; False if it was an event dropped because the queue is full."""
        if event:
            if self._queued_events >= self.max_queued_events:
                self.missed += 1
                return False
            self._queued_events += 1
        self._frames.append((data, event))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)
        return True

    @property
    def too_far_behind(self):
        return self.missed > self.max_missed

    def pause(self):
        self._paused = True

    def resume(self):
        self._paused = False
        self.flush()

    def flush(self, everything=False):
        self._flush_scheduled = False
        if self.frozen() or self.transport.is_closing():
            return
        while self._frames and (everything or not self._paused):
            chunk, size = [], 0
            while self._frames and size < WRITE_CHUNK:
                data, event = self._frames.popleft()
                chunk.append(data)
                size += len(data)
                self._queued_events -= event
            self.transport.write(b"".join(chunk))
