"""Contact intake throughput: `python -m bench.intake [--single N] [--threads T] [--bulk-requests R]`.

Runs against DATABASE_URL's server (or the embedded PostgreSQL) in a scratch database that is
dropped afterwards. Single POSTs and bulk requests go through the real Flask app over real HTTP
(werkzeug's threaded server on 127.0.0.1, HTTP/1.1 keep-alive, one `requests` session per client
thread); bodies are JSON-encoded before the clock starts. The in-process figures show where the
server's time goes (validation, then the database).
"""

import argparse
import copy
import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from dialer.adapters.db import make_engine, make_session_factory, migrate, transaction
from dialer.adapters.embedded import apply_embedded_defaults, drop_database, ensure_database, with_database
from dialer.config import Settings, SwitchConfig
from dialer.flows.intake import parse_contacts, store_contacts

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


def contacts(n, form):
    if form == "flat":
        return [{**FLAT, "id": str(uuid.uuid4())} for _ in range(n)]
    made = [copy.deepcopy(NESTED) for _ in range(n)]
    for contact in made:
        contact["id"] = str(uuid.uuid4())
    return made


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
        print(f"bulk POST /contacts/bulk, {form:6}, {size:,} per request: "
              f"{rate(size * requests_count, elapsed)}")


def bench_in_process(url, size=10_000):
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    for form in ("flat", "nested"):
        body = contacts(size, form)
        started = time.perf_counter()
        rows = parse_contacts(body)
        parsed = time.perf_counter()
        with transaction(sessions) as session:
            store_contacts(session, rows)
        stored = time.perf_counter()
        print(f"in process, {form:6}: validate {rate(size, parsed - started)}; "
              f"store_contacts {rate(size, stored - parsed)}")
    engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2000, help="contacts posted one by one, per form")
    parser.add_argument("--threads", type=int, default=8, help="client threads for single POSTs")
    parser.add_argument("--bulk-requests", type=int, default=5, help="bulk requests of 10,000, per form")
    args = parser.parse_args()
    server_url, url, redis_url = scratch_database()
    http_server, base = serve(url, redis_url)
    try:
        print(f"database: scratch {SCRATCH!r}; server: werkzeug threaded on {base}; {os.cpu_count()} CPUs")
        bench_single(base, args.single, args.threads)
        bench_bulk(base, args.bulk_requests)
        bench_in_process(url)
    finally:
        http_server.shutdown()
        from api.extensions import db

        with http_server.app.app_context():
            db.engine.dispose()
        drop_database(server_url, SCRATCH)


if __name__ == "__main__":
    main()
