"""Contact intake throughput: `python -m bench.intake [--single N] [--threads T] [--bulk-requests R]
[--bulk-size S] [--dnc N] [--profile]`.

Runs against DATABASE_URL's server (or the embedded PostgreSQL) in a scratch database that is
dropped afterwards. Single POSTs and bulk requests go through the real Flask app over real HTTP
(werkzeug's threaded server on 127.0.0.1, HTTP/1.1 keep-alive, one `requests` session per client
thread); bodies are JSON-encoded before the clock starts. The in-process figures show where the
server's time goes (validation, numbers and zones, the DNC check, then the database).

Campaign policy at intake (issue 10): every contact has a number of one of several countries (most
in E.164, some national US numbers), so phonenumbers works out its zones; one in ten gives its own
timezone; the scratch database holds `--dnc` numbers on DNC lists (global and the bench campaigns'),
among them the numbers of one contact in a hundred, which arrive failed DNC. Target: bulk intake in
the nested 001 form >= 5,000 contacts/s. `--profile`: cProfile of one in-process nested bulk.
"""

import argparse
import copy
import cProfile
import io
import json
import os
import pstats
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import text
from werkzeug.serving import WSGIRequestHandler, make_server

from dialer.adapters.db import make_engine, make_session_factory, migrate, transaction
from dialer.adapters.embedded import apply_embedded_defaults, drop_database, ensure_database, with_database
from dialer.config import Settings, SwitchConfig
from dialer.flows.dnc import add_numbers, blocked_pairs
from dialer.flows.intake import parse_contacts, store_contacts
from dialer.rules.calling_hours import zone_key_for
from dialer.rules.numbers import e164_or_none

SCRATCH = "dialer_bench_intake"
TOKEN = "bench-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
FLAT = {"customer_number": "+15550001", "campaign_id": "bench-flat", "campaign_type": "IVR",
        "gateway_id": "gw1", "start_time": "2030-01-01T09:00:00+00:00",
        "end_time": "2030-01-01T17:00:00+00:00", "priority": 3}
NESTED = {  # the spec's example (001, "Campaign contact")
    "header": {
        "channelData": {"channelCustomerIdentifier": "1001", "serviceIdentifier": "1218",
                        "additionalAttributes": []},
        "customer": {"_id": "61c2b22725dadf1a1050c582"},
        "shedulingMetaData": {
            "scheduledDatetime": "2030-01-01T09:30:00+03:00", "campaignId": "bench-nested",
            "campaignType": "AGENT", "gatewayId": "gw1", "campaignContactId": "contact-123",
            "startTime": "2030-01-01T09:00:01+03:00", "endTime": "2030-01-01T20:00:01+03:00", "priority": "1",
            "ivr": "6666", "dialingMode": "PROGRESSIVE", "routingMode": "QUEUE",
            "resourceId": "7bn473-c34de35c-v54nv5u43-5dlh68c", "queueName": "", "webhookId": "KL9DF2",
            "agent": None, "queue": None},
    },
    "body": {"type": "PLAIN", "markdownText": "Hello Customer"},
}


# (prefix, random digits after it, weight): landlines and mobiles of several countries; "713..." is a
# national US number (read with the default region). Mobiles of AU and RU span many zones, India's none.
NUMBER_KINDS = (("+1212", 7, 10), ("+1310", 7, 8), ("+1312", 7, 8), ("+1415", 7, 6), ("713", 7, 6),
                ("+1416", 7, 4), ("+4420", 8, 10), ("+4930", 8, 6), ("+331", 8, 6), ("+813", 8, 6),
                ("+612", 8, 5), ("+614", 8, 5), ("+55119", 8, 6), ("+7916", 7, 4), ("+9198", 8, 4))
EXPLICIT_ZONES = ("America/Chicago", "Europe/Madrid", "Asia/Singapore")
LISTED_EVERY = 100  # one contact in this many has a number on a DNC list
LISTED = 1000  # distinct listed numbers the contacts draw on
CAMPAIGN_LISTED = 0.3  # share of those on the campaign's own list rather than the global one


class Numbers:
    """Customer numbers drawn from NUMBER_KINDS, seeded; `listed` are on the DNC lists (see add_dnc)."""

    def __init__(self, seed):
        self.random = random.Random(seed)
        self.kinds = [(prefix, digits) for prefix, digits, _ in NUMBER_KINDS]
        self.weights = [weight for _, _, weight in NUMBER_KINDS]
        self.listed = [self.draw() for _ in range(LISTED)]
        self.count = 0

    def draw(self):
        prefix, digits = self.random.choices(self.kinds, self.weights)[0]
        return prefix + str(self.random.randrange(10 ** (digits - 1), 10 ** digits))

    def customer(self):
        """The next contact's number: a listed one for one contact in LISTED_EVERY."""
        self.count += 1
        if self.count % LISTED_EVERY == 0:
            return self.listed[(self.count // LISTED_EVERY) % LISTED]
        return self.draw()

    def timezone(self):
        return self.random.choice(EXPLICIT_ZONES) if self.random.random() < 0.1 else None


NUMBERS = Numbers(seed=10)


def contacts(n, form):
    made = []
    for _ in range(n):
        number, zone = NUMBERS.customer(), NUMBERS.timezone()
        if form == "flat":
            contact = {**FLAT, "id": str(uuid.uuid4()), "customer_number": number}
            if zone:
                contact["timezone"] = zone
        else:
            contact = copy.deepcopy(NESTED)
            contact["id"] = str(uuid.uuid4())
            contact["header"]["channelData"]["channelCustomerIdentifier"] = number
            if zone:
                contact["header"]["shedulingMetaData"]["timezone"] = zone
        made.append(contact)
    return made


def add_dnc(url, total):
    """`total` numbers on DNC lists: the LISTED numbers contacts draw on (most on the global list, the
    rest on the bench campaigns' lists), the others numbers of nobody, as `dialer dnc import` stores them."""
    from dialer.rules.dnc import normalise

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    others = Numbers(seed=11)
    listed = [normalise(number, "US") for number in NUMBERS.listed]
    on_campaigns = listed[: int(len(listed) * CAMPAIGN_LISTED)]
    with transaction(sessions) as session:
        added = add_numbers(session, listed[len(on_campaigns):] + [
            normalise(others.draw(), "US") for _ in range(max(0, total - len(listed)))])
        for campaign_id in (FLAT["campaign_id"], NESTED["header"]["shedulingMetaData"]["campaignId"]):
            added += add_numbers(session, on_campaigns, campaign_id)
    engine.dispose()
    print(f"DNC lists: {added:,} entries stored in {time.perf_counter() - started:.1f} s "
          f"(1 contact in {LISTED_EVERY} has a listed number)")


def scratch_database():
    env = {k: os.environ[k] for k in ("DATABASE_URL", "REDIS_URL") if os.environ.get(k)}
    apply_embedded_defaults(env, database="postgres")
    server = with_database(env["DATABASE_URL"], "postgres")
    drop_database(server, SCRATCH)
    url = ensure_database(server, SCRATCH)
    migrate(url)
    return server, url, env["REDIS_URL"]


def serve(url, redis_url):
    from api import create_app

    settings = Settings(database_url=url, redis_url=redis_url, api_token=TOKEN, connector_token="unused",
                        switches=(SwitchConfig("sw1", "127.0.0.1", 8021, "ClueCon", 10, 100.0),),
                        vc_url="http://127.0.0.1:8088", default_ivr="6666", dialplan_context="default")
    app = create_app(settings)

    class KeepAlive(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_request(self, *args, **kwargs):
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=KeepAlive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def rate(n, seconds):
    return f"{n / seconds:>9,.0f} contacts/s  ({n:,} in {seconds:.2f} s)"


def bench_single(base, n, threads):
    local = threading.local()

    def post(body):
        if not hasattr(local, "http"):
            local.http = requests.Session()
            local.http.headers.update(HEADERS)
        response = local.http.post(f"{base}/contacts", data=body)
        assert response.status_code == 201, response.text

    for form in ("flat", "nested"):
        batch = [json.dumps(contact) for contact in contacts(n, form)]
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(post, batch))
        elapsed = time.perf_counter() - started
        print(f"single POST /contacts, {form:6}, {threads} client threads: {rate(n, elapsed)}")


def bench_bulk(base, requests_count, size=10_000):
    http = requests.Session()
    http.headers.update(HEADERS)
    for form in ("flat", "nested"):
        elapsed = 0.0
        for _ in range(requests_count):
            body = json.dumps(contacts(size, form))
            started = time.perf_counter()
            response = http.post(f"{base}/contacts/bulk", data=body)
            elapsed += time.perf_counter() - started
            assert response.status_code == 201 and response.json()["created"] == size, response.text
        per_s = size * requests_count / elapsed
        target = f"; target >= 5,000/s: {'met' if per_s >= 5000 else 'MISSED'}" if form == "nested" else ""
        print(f"bulk POST /contacts/bulk, {form:6}, {size:,} per request: "
              f"{rate(size * requests_count, elapsed)}{target}")


def bench_in_process(url, size=10_000):
    """Each step of a bulk store on its own (validation; numbers and zones and the DNC check as
    store_contacts does them), then store_contacts as a whole (which does those two again)."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    for form in ("flat", "nested"):
        body = contacts(size, form)
        started = time.perf_counter()
        rows = parse_contacts(body)
        parsed = time.perf_counter()
        numbers = [(row["campaign_id"], e164_or_none(row["customer_number"], "US"), row.get("timezone"))
                   for row in rows]
        zones = [zone_key_for(zone, e164) for _, e164, zone in numbers]
        derived = time.perf_counter()
        with transaction(sessions) as session:
            listed = blocked_pairs(session, {(e164, campaign) for campaign, e164, _ in numbers if e164})
        checked = time.perf_counter()
        with transaction(sessions) as session:
            store_contacts(session, rows)
        stored = time.perf_counter()
        print(f"in process, {form:6}: validate {rate(size, parsed - started)}; e164 + zone keys "
              f"{rate(size, derived - parsed)}; DNC check (blocked_pairs, {len(listed)} listed) "
              f"{rate(size, checked - derived)}; store_contacts {rate(size, stored - checked)}")
        print(f"                   {sum(1 for z in zones if z) / size:.0%} with a zone key, "
              f"{sum(1 for z in zones if ' ' in z) / size:.0%} with several zones")
    engine.dispose()


def profile_in_process(url, size=10_000, top=25):
    """cProfile of validating and storing one nested bulk in process: where the server's time goes."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    body = contacts(size, "nested")
    profiler = cProfile.Profile()
    profiler.enable()
    rows = parse_contacts(body)
    with transaction(sessions) as session:
        store_contacts(session, rows)
    profiler.disable()
    engine.dispose()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        print(f"cProfile, nested bulk of {size:,} in process, by {order}:")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


def intake_shares(url):
    engine = make_engine(url)
    with engine.connect() as connection:
        total, listed, zoned = connection.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE call_result = 'DNC'), count(*) FILTER (WHERE zone_key <> '') "
            "FROM contacts")).one()
    engine.dispose()
    print(f"stored: {total:,} contacts, {listed:,} failed DNC at intake, {zoned / max(total, 1):.0%} with a zone key")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2000, help="contacts posted one by one, per form")
    parser.add_argument("--threads", type=int, default=8, help="client threads for single POSTs")
    parser.add_argument("--bulk-requests", type=int, default=5, help="bulk requests per form")
    parser.add_argument("--bulk-size", type=int, default=10_000, help="contacts per bulk request (10,000)")
    parser.add_argument("--dnc", type=int, default=100_000, help="numbers on DNC lists (100,000)")
    parser.add_argument("--profile", action="store_true", help="cProfile one nested bulk stored in process")
    args = parser.parse_args()
    server_url, url, redis_url = scratch_database()
    http_server, base = serve(url, redis_url)
    try:
        print(f"database: scratch {SCRATCH!r}; server: werkzeug threaded on {base}; {os.cpu_count()} CPUs")
        add_dnc(url, args.dnc)
        bench_single(base, args.single, args.threads)
        bench_bulk(base, args.bulk_requests, args.bulk_size)
        bench_in_process(url, args.bulk_size)
        intake_shares(url)
        if args.profile:
            profile_in_process(url, args.bulk_size)
    finally:
        http_server.shutdown()
        from api.extensions import db

        with http_server.app.app_context():
            db.engine.dispose()
        drop_database(server_url, SCRATCH)


if __name__ == "__main__":
    main()
