"""Posting CDRs as mod_json_cdr does with `queue-capacity` set (captured/cdr/README.md): from background
threads, so a slow or absent receiver never delays the switch's loop or its hangup events.

One POST per ended call to `<url>?uuid=<uuid>`, with the module's headers (its Content-Type quirk
included). Any 2xx is delivered; otherwise up to `retries` more attempts `delay` seconds apart, each
cut at `timeout`; after the last failure the body goes to `<spool>/a_<uuid>.cdr.json`, as
err-log-dir does. Bodies are built in the workers too: the loop only queues the hangup event.
"""

import base64
import http.client
import logging
import os
import queue
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from sim.switch.cdr import cdr_body

log = logging.getLogger("sim.switch.cdr")

QUEUE_CAPACITY = 1000  # the recommended queue-capacity
WORKERS = 2
USER_AGENT = "freeswitch-json/1.0"


class CdrPoster:
    def __init__(self, url, credentials=None, retries=2, delay=1.0, timeout=5.0, spool=None,
                 queue_capacity=QUEUE_CAPACITY):
        target = urlsplit(url)
        if target.scheme not in ("http", "https") or not target.hostname:
            raise ValueError(f"CDR url must be http:// or https://host/...: {url!r}")
        if credentials is not None and ":" not in credentials:
            raise ValueError("CDR credentials are USER:PASS")
        self.url, self.retries, self.delay, self.timeout = url, retries, delay, timeout
        self._target = target
        self._authorization = "Basic " + base64.b64encode(credentials.encode()).decode() if credentials else None
        self.spool = Path(spool) if spool else None
        if self.spool:
            self.spool.mkdir(mode=0o750, parents=True, exist_ok=True)  # at module load, as FreeSWITCH does
        self.enabled = True
        self._queue = queue.Queue(queue_capacity)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(("queued", "posted", "failed", "spooled", "dropped", "attempts"), 0)
        self._threads = [
            threading.Thread(target=self._work, name=f"cdr-poster-{n}", daemon=True) for n in range(WORKERS)
        ]
        for thread in self._threads:
            thread.start()

    def call_ended(self, call_uuid, hangup_event):
        """Queue the CDR of an ended call; never blocks. A full queue writes it straight to the spool,
        as mod_json_cdr does ("Unable to push cdr to queue", then backup_cdr); without a spool it is
        dropped, logged and counted."""
        try:
            self._queue.put_nowait((call_uuid, hangup_event))
        except queue.Full:
            log.warning("Unable to push cdr to queue uuid=%s", call_uuid)
            if self.spool is None or not self._spool(call_uuid, cdr_body(hangup_event)):
                self._count("dropped")
            return
        self._count("queued")

    def counts(self):
        """CDRs queued, posted (a 2xx), failed (every attempt), spooled, dropped (queue full); POST attempts."""
        with self._lock:
            return {**self._counts, "enabled": self.enabled, "pending": self._queue.qsize()}

    def close(self, timeout=5.0):
        """Stop the workers: what is queued by then is still tried until `timeout`, without waiting
        out retry delays; anything left is abandoned (daemon threads)."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for _ in self._threads:
            try:
                self._queue.put(None, timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                break
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # the workers -----------------------------------------------------------------------------

    def _work(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            call_uuid, event = item
            try:
                self._deliver(call_uuid, cdr_body(event))
            except Exception:  # a bug here must not kill the worker; it is logged with its trace
                log.exception("cdr not built uuid=%s", call_uuid)
                self._count("failed")

    def _deliver(self, call_uuid, body):
        for attempt in range(self.retries + 1):
            if attempt and self._stopping.wait(self.delay):
                break
            self._count("attempts")
            status = self._post(call_uuid, body)
            if 200 <= status < 300:
                return self._count("posted")
            log.error("Got error [%d] posting to web server [%s] uuid=%s", status, self.url, call_uuid)
        self._count("failed")
        if self.spool is None:
            return log.error("Unable to post to web server uuid=%s", call_uuid)
        self._spool(call_uuid, body)

    def _spool(self, call_uuid, body):
        """Write the CDR to err-log-dir as `a_<uuid>.cdr.json`; True when it was written."""
        path = self.spool / f"a_{call_uuid}.cdr.json"
        partial = path.with_name(f".{path.name}.partial")  # so a watcher never reads half a file
        try:
            partial.write_bytes(body + b"\n")
            os.replace(partial, path)
        except OSError as error:
            log.error("Unable to post to web server, Error writing [%s]: %s", path, error)
            return False
        self._count("spooled")
        log.error("Unable to post to web server, Backup file %s", path)
        return True

    def _post(self, call_uuid, body):
        """One POST, headers in mod_json_cdr's order; the HTTP status, or 0 when there is none."""
        target = self._target
        connection_class = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(target.hostname, target.port, timeout=self.timeout)
        # mod_json_cdr appends "?uuid=" to the configured url whatever it already holds.
        path = (target.path or "/") + (f"?{target.query}" if target.query else "") + f"?uuid={call_uuid}"
        try:
            connection.putrequest("POST", path, skip_accept_encoding=True)
            if self._authorization:
                connection.putheader("Authorization", self._authorization)
            connection.putheader("User-Agent", USER_AGENT)
            connection.putheader("Accept", "*/*")
            connection.putheader("Content-Length", str(len(body)))
            connection.putheader("Content-Type", "application/x-www-form-urlencoded")
            connection.endheaders(body)
            response = connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):  # refused, timed out, cut: curl's error 0
            return 0
        finally:
            connection.close()

    def _count(self, name):
        with self._lock:
            self._counts[name] += 1
