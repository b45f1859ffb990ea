"""The fleet's /metrics after a small campaign: what the worker processes counted (Celery prefork
children, in the fleet's multiprocess folder) is exported by the web process (gunicorn)."""

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.contacts import ANSWERED, BUSY, DECLINED, NO_ANSWER, UNALLOCATED, all_in, contacts
from tests.e2e.fleet import wait_until

# One contact per outcome of the simulated switch, and the disposition class each ends in.
DISPOSITIONS = {ANSWERED: "ANSWERED", BUSY: "BUSY", NO_ANSWER: "NO_ANSWER", DECLINED: "REJECTED",
                UNALLOCATED: "UNREACHABLE"}


def scrape(fleet):
    response = requests.get(fleet.url + "/metrics", timeout=10)  # public, like /healthz
    assert response.status_code == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def test_after_a_small_campaign_the_fleet_s_metrics_show_its_originates_and_results_by_disposition(fleet, engine):
    before = scrape(fleet)
    batch = contacts("metrics", 5, tuple(DISPOSITIONS))
    fleet.post_contacts(batch)
    wait_until(lambda: all_in(engine, [c["id"] for c in batch], "ended"), timeout=90, message="every contact to end")

    def grown():
        after = scrape(fleet)

        def grew(name, **labels):
            key = (name, frozenset(labels.items()))
            return after.get(key, 0) - before.get(key, 0)

        return {"accepted": grew("dialer_originates_total", switch="sim", outcome="accepted"),
                "results": {d: grew("dialer_results_total", disposition=d) for d in DISPOSITIONS.values()},
                "hangups_timed": grew("dialer_hangup_to_recorded_seconds_count"),
                "published": grew("dialer_listener_events_published_total", switch="sim") >= 5}

    expected = {"accepted": 5, "results": dict.fromkeys(DISPOSITIONS.values(), 1), "hangups_timed": 5,
                "published": True}
    try:
        wait_until(lambda: grown() == expected, timeout=30, message="the campaign's counts in /metrics")
    except AssertionError:
        assert grown() == expected  # shows what differs
