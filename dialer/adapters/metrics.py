"""Prometheus metrics: every series the dialer exports is defined here, once.

The processes that do the work (gunicorn's workers, Celery's prefork children, the listeners) only
count, through the small functions below; the web process exports at `/metrics`. With
PROMETHEUS_MULTIPROC_DIR set (`make run` and the test fleets set it; it must be set before this
module is imported, and the folder emptied when the fleet starts) every process writes its values
into a memory-mapped file of its own there, and the export adds them up over all of them. Without
it, each process keeps its own values and the export shows only the web process's.

Gauges read from the database (contacts, calls in progress, outbox, failed tasks) are not kept
here: `StoreCollector` asks the store when Prometheus scrapes, in the web process only.
"""

import logging
import os
import time
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, disable_created_metrics, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
disable_created_metrics()  # no `_created` series: the multiprocess export has none, so neither has this one

ORIGINATES = Counter(
    "dialer_originates", "Originates by switch and outcome: accepted (the switch took the bgapi) or why "
    "not (gateway_down, invalid_gateway, switch_down, invalid_contact, outside_window).", ["switch", "outcome"])
RESULTS = Counter(
    "dialer_results", "Call results recorded (hangups, channel-less job failures, reconcile's LOST), "
    "by disposition class.", ["disposition"])
TICK_SECONDS = Histogram(
    "dialer_allocation_tick_seconds", "Duration of an allocation tick, claim and commit (beat: counts the "
    "dialable contacts; refill: right after calls ended).", ["trigger"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
CLAIM_SIZE = Histogram(
    "dialer_allocation_claim_size", "Contacts claimed by one allocation tick.", ["trigger"],
    buckets=(0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000))
HANGUP_TO_RECORDED = Histogram(
    "dialer_hangup_to_recorded_seconds", "From a call's hangup (the switch's time in the event) to its "
    "result committed by a worker.", buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0))
LISTENER_READ = Counter("dialer_listener_events_read", "Events a listener read from its switch.", ["switch"])
LISTENER_PUBLISHED = Counter(
    "dialer_listener_events_published", "Results a listener wrote into the result inbox.", ["switch"])


def count_originates(switch, by_outcome):
    """`by_outcome`: {outcome: number of contacts} of one originate batch."""
    for outcome, count in by_outcome.items():
        if count:
            ORIGINATES.labels(switch, outcome).inc(count)


def count_results(by_disposition):
    """`by_disposition`: {disposition class: number of results}, once they are committed."""
    for disposition, count in by_disposition.items():
        if count:
            RESULTS.labels(disposition).inc(count)


def observe_recorded(ended_ats, recorded_at=None):
    """Hangup-to-recorded latency of each call whose result was just committed (`ended_ats`: the
    hangups' aware datetimes). A switch clock ahead of ours counts as no latency, not less."""
    now = time.time() if recorded_at is None else recorded_at
    for ended_at in ended_ats:
        if ended_at is not None:
            HANGUP_TO_RECORDED.observe(max(0.0, now - ended_at.timestamp()))


def observe_tick(trigger, seconds, claimed):
    TICK_SECONDS.labels(trigger).observe(seconds)
    CLAIM_SIZE.labels(trigger).observe(claimed)


def count_listener_events(switch, read, published):
    """One call per read burst, not per event."""
    if read:
        LISTENER_READ.labels(switch).inc(read)
    if published:
        LISTENER_PUBLISHED.labels(switch).inc(published)


# the multiprocess folder ------------------------------------------------------------------------

def multiprocess_folder(environ=None):
    return (os.environ if environ is None else environ).get(MULTIPROC_ENV)


def fresh_folder(path):
    """Create the multiprocess folder, or empty it of an earlier fleet's files (only those); returns it."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    return folder


def process_exited(pid):
    """Hook for a process manager (gunicorn's child_exit, Celery's worker_process_shutdown)."""
    if multiprocess_folder():
        multiprocess.mark_process_dead(pid)


# the export ---------------------------------------------------------------------------------------

class _ThisProcess:
    """The values of this process alone (no multiprocess folder)."""

    def collect(self):
        return REGISTRY.collect()


def exposition(accept_header, *collectors):
    """(body, content type) of every process's counters and histograms plus `collectors`' metrics,
    in the format the scraper asked for."""
    registry = CollectorRegistry()
    folder = multiprocess_folder()
    if folder:
        multiprocess.MultiProcessCollector(registry, folder)
    else:
        registry.register(_ThisProcess())
    for collector in collectors:
        registry.register(collector)
    encoder, content_type = choose_encoder(accept_header)
    return encoder(registry), content_type


class StoreCollector:
    """Gauges read from the store at scrape time: `read()` returns a dialer.flows.gauges.StoreGauges.
    A store that does not answer still lets the counters out, with dialer_database_up 0."""

    def __init__(self, read, switches):
        self.read, self.switches = read, switches

    def collect(self):
        try:
            gauges = self.read()
        except SQLAlchemyError as exc:
            log.warning("event=metrics_store_unreadable error=%s", str(exc).splitlines()[0])
            yield GaugeMetricFamily("dialer_database_up", "1 when the store answered this scrape.", value=0)
            return
        yield GaugeMetricFamily("dialer_database_up", "1 when the store answered this scrape.", value=1)
        yield _by_label("dialer_contacts", "Contacts by status.", "status", gauges.contacts)
        yield _by_label("dialer_calls_in_progress", "Call slots taken per switch (queued, agent_pending, dialed).",
                        "switch", {s.name: gauges.calls_in_progress.get(s.name, 0) for s in self.switches})
        yield _by_label("dialer_switch_capacity", "Call slots per switch.", "switch",
                        {s.name: s.capacity for s in self.switches})
        yield GaugeMetricFamily("dialer_capacity", "Call slots over all switches.",
                                value=sum(s.capacity for s in self.switches))
        yield _by_label("dialer_outbox_messages", "VC messages waiting for delivery (pending) or that exhausted "
                        "their retries (dead).", "status", gauges.outbox)
        yield GaugeMetricFamily("dialer_failed_tasks",
                                "Tasks that failed for good, waiting for an operator to requeue or discard them.",
                                value=gauges.failed_tasks)


def _by_label(name, documentation, label, values):
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([str(key)], value)
    return family
