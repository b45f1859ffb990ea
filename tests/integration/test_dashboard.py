"""The dashboard with the Flask client on the test database: sign-in with the read or API token into
an HttpOnly, SameSite=Strict session cookie, what that cookie opens (the dashboard, and the requeue
of a failed task with the CSRF token and the API token only), sign-out, and GET /dashboard/data."""

import base64
import re
import uuid
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from api import create_app
from dialer.adapters.models import CallAttempt, FailedTask, OutboxMessage
from dialer.flows.dashboard import Window, dashboard_snapshot, recent_calls
from dialer.flows.failed_tasks import record
from dialer.rules.failed_tasks import failure_record
from tests.conftest import API_TOKEN, CONNECTOR_TOKEN, READ_TOKEN, make_settings
from tests.factories import add_contacts

NOW = datetime.now(UTC)
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


class SentTasks:
    """A Celery app's `send_task`, kept instead of sent."""

    def __init__(self):
        self.sent = []

    def send_task(self, name, args=None, kwargs=None, task_id=None, **_):
        self.sent.append((name, args, kwargs, task_id))


@pytest.fixture
def sent():
    return SentTasks()


@pytest.fixture
def settings(database_url, redis_url):
    return make_settings(database_url, redis_url, secret_key="test-dashboard-secret")


@pytest.fixture
def app(settings, session_factory, sent):
    from api.extensions import db

    app = create_app(settings, celery=sent)
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        db.engine.dispose()


def signed_in(client, token):
    response = client.post("/dashboard/sign-in", data={"token": token})
    assert response.status_code == 303, response.data
    return response


def csrf_of(client):
    page = client.get("/dashboard").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)


@pytest.fixture
def failure(session):
    record(session, [failure_record("t-1", "dialer.record_events", [[{"type": "X"}]], {}, "KeyError: 'X'",
                                    "Traceback ...", NOW - timedelta(minutes=5))])
    session.commit()
    return session.query(FailedTask).one().id


def status_of(session, failed_id):
    session.rollback()
    return session.get(FailedTask, failed_id).status


def test_the_sign_in_page_and_the_dashboards_files_are_public(client):
    page = client.get("/dashboard/sign-in")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'name="token"' in page.get_data(as_text=True)
    for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        served = client.get(f"/dashboard/static/{name}")
        assert (served.status_code, served.mimetype) == (200, kind)
    assert client.get("/dashboard/static/../dashboard.py").status_code == 404


def test_a_browser_without_a_session_is_sent_to_sign_in_and_a_client_gets_a_401(client):
    redirected = client.get("/dashboard", headers=BROWSER)
    assert (redirected.status_code, redirected.location) == (303, "/dashboard/sign-in")
    assert client.get("/dashboard").status_code == 401
    data = client.get("/dashboard/data", headers=BROWSER)
    assert (data.status_code, data.get_json()) == (401, {"error": "missing or wrong bearer token"})


def test_the_cookie_is_secure_only_when_dialer_cookie_secure_says_so(client, database_url, redis_url, sent):
    [plain] = signed_in(client, API_TOKEN).headers.getlist("Set-Cookie")
    assert "secure" not in {part.strip().lower() for part in plain.split(";")}
    behind_tls = create_app(make_settings(database_url, redis_url, secret_key="s", cookie_secure=True), celery=sent)
    [secure] = signed_in(behind_tls.test_client(), API_TOKEN).headers.getlist("Set-Cookie")
    assert "secure" in {part.strip().lower() for part in secure.split(";")}


def test_signing_in_opens_an_http_only_same_site_strict_cookie_that_does_not_hold_the_token(client):
    response = signed_in(client, API_TOKEN)

    assert response.location == "/dashboard"
    [cookie] = response.headers.getlist("Set-Cookie")
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "expires", "path"} <= flags
    assert "SameSite=Strict" in cookie and cookie.startswith("dialer_session=")
    value = cookie.split(";")[0].split("=", 1)[1]
    payload = base64.urlsafe_b64decode(value.lstrip(".").split(".")[0] + "==")
    decoded = zlib.decompress(payload) if value.startswith(".") else payload  # itsdangerous compresses long ones
    assert API_TOKEN.encode() not in decoded and b"token_hmac" in decoded
    page = client.get("/dashboard", headers=BROWSER)
    assert page.status_code == 200
    assert "read only" not in page.get_data(as_text=True)


@pytest.mark.parametrize("token", ["wrong", "", CONNECTOR_TOKEN])
def test_a_wrong_token_or_the_connectors_opens_no_session(client, token):
    response = client.post("/dashboard/sign-in", data={"token": token})

    assert response.status_code == 401
    assert "neither the read token nor the API token" in response.get_data(as_text=True)
    assert response.headers.getlist("Set-Cookie") == []
    assert client.get("/dashboard/data").status_code == 401


def test_a_read_token_session_reads_and_its_page_says_it_may_only_read(client):
    signed_in(client, READ_TOKEN)

    assert client.get("/dashboard/data").status_code == 200
    assert "read only" in client.get("/dashboard").get_data(as_text=True)


def test_a_read_token_session_cannot_requeue_a_failed_task(client, session, failure, sent):
    signed_in(client, READ_TOKEN)

    response = client.post(f"/tasks/failed/{failure}/requeue", headers={"X-CSRF-Token": csrf_of(client)})

    assert (response.status_code, response.get_json()) == (403, {"error": "this token may not change anything"})
    assert status_of(session, failure) == "failed" and sent.sent == []


def test_an_api_token_session_requeues_with_its_csrf_token_and_never_without(client, session, failure, sent):
    signed_in(client, API_TOKEN)
    url = f"/tasks/failed/{failure}/requeue"

    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = client.post(url, headers=headers)
        assert refused.status_code == 403 and "CSRF" in refused.get_json()["error"]
    assert sent.sent == [] and status_of(session, failure) == "failed"

    response = client.post(url, headers={"X-CSRF-Token": csrf_of(client)})
    assert response.status_code == 200
    [(name, args, kwargs, task_id)] = sent.sent
    assert (name, args, kwargs, task_id) == ("dialer.record_events", [[{"type": "X"}]], {},
                                            response.get_json()["requeue_task_id"])
    assert status_of(session, failure) == "requeued"


def test_the_session_opens_only_the_dashboard_and_the_requeue(client, failure):
    signed_in(client, API_TOKEN)
    csrf = {"X-CSRF-Token": csrf_of(client)}

    assert client.get("/campaigns").status_code == 401
    assert client.get("/tasks/failed").status_code == 401
    assert client.post(f"/tasks/failed/{failure}/discard", headers=csrf).status_code == 401


def test_signing_out_closes_the_session_and_needs_the_pages_csrf_token(client):
    signed_in(client, READ_TOKEN)
    csrf = csrf_of(client)

    assert client.post("/dashboard/sign-out", data={"csrf_token": "forged"}).status_code == 303
    assert client.get("/dashboard/data").status_code == 200
    out = client.post("/dashboard/sign-out", data={"csrf_token": csrf})
    assert (out.status_code, out.location) == (303, "/dashboard/sign-in")
    assert client.get("/dashboard/data").status_code == 401


def test_a_session_is_worth_nothing_once_its_token_is_changed(client, settings, session_factory):
    signed_in(client, READ_TOKEN)
    cookie = client.get_cookie("dialer_session").value
    changed = create_app(make_settings(settings.database_url, settings.redis_url, secret_key=settings.secret_key,
                                       read_token="a-new-read-token")).test_client()
    changed.set_cookie("dialer_session", cookie)

    assert changed.get("/dashboard/data").status_code == 401


def test_without_a_secret_key_every_web_process_derives_the_same_one(database_url, redis_url):
    def secret(**overrides):
        return create_app(make_settings(database_url, redis_url, **overrides)).secret_key

    assert secret() == secret() and len(secret()) == 64
    assert secret() != secret(api_token="another-api-token")
    assert secret(secret_key="set") == "set"


def test_the_pages_load_only_the_dialers_own_files_and_may_not_be_framed(client):
    signed_in(client, API_TOKEN)
    page = client.get("/dashboard")

    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'self' covers it
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and not [a for a in assets if "//" in a]
    assert "<script>" not in html  # no inline script: the policy would refuse it


def add_attempts(session, contact_id, *attempts):
    """Attempts of `contact_id`: (minutes ago, disposition or None), written oldest first as the dialer
    writes them (created_at is the inserting transaction's start: ids grow with it)."""
    oldest_first = sorted(attempts, key=lambda attempt: -attempt[0])
    session.execute(insert(CallAttempt), [
        {"contact_id": contact_id, "attempt": i + 1, "uuid": str(uuid.uuid4()), "job_uuid": str(uuid.uuid4()),
         "switch_name": "sw1", "kind": "IVR", "created_at": NOW - timedelta(minutes=ago), "disposition": disposition}
        for i, (ago, disposition) in enumerate(oldest_first)])
    session.commit()


def test_the_data_answer_what_the_dashboard_draws(client, read_auth, session, failure):
    [ended, other, *_] = add_contacts(session, "spring", 4, status="ended")
    add_contacts(session, "spring", 1, status="failed")
    add_contacts(session, "autumn", 2, status="dialed", switch_name="sw1")
    add_attempts(session, ended, (0, "ANSWERED"), (1, "ANSWERED"), (1, "BUSY"), (2, None), (90, "NO_ANSWER"))
    session.execute(insert(OutboxMessage), [
        {"contact_id": ended, "kind": "call_result", "path": "/r", "body": {}, "status": "pending",
         "last_error": "HTTP 502: bad gateway"},
        {"contact_id": other, "kind": "call_result", "path": "/r", "body": {}, "status": "dead"}])
    session.commit()

    response = client.get("/dashboard/data", headers=read_auth)

    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert list(body) == ["generated_at", "window_minutes", "campaigns", "switches", "calls_per_minute",
                          "dispositions", "answer_rate", "outbox", "failed_tasks", "health"]
    spring = next(c for c in body["campaigns"] if c["campaign_id"] == "spring")
    assert (spring["total"], spring["done"], spring["counts"]["ended"], spring["counts"]["failed"]) == (5, 5, 4, 1)
    [switch] = body["switches"]
    assert {key: switch[key] for key in ("name", "capacity", "calls")} == {"name": "sw1", "capacity": 10, "calls": 2}
    assert switch["health"] == "ok" or switch["health"].startswith("unreachable")
    assert len(body["calls_per_minute"]) == body["window_minutes"] == 60
    assert sum(minute["calls"] for minute in body["calls_per_minute"]) == 4  # the one 90 min ago is out
    assert body["dispositions"] == {"ANSWERED": 2, "BUSY": 1}  # the one still ringing has none yet
    assert body["answer_rate"] == round(2 / 3, 4)
    assert body["outbox"] == {"pending": 1, "dead": 1, "last_error": "HTTP 502: bad gateway"}
    assert body["failed_tasks"]["count"] == 1
    assert body["failed_tasks"]["latest"] == [{"id": failure, "name": "dialer.record_events",
                                               "exception": "KeyError: 'X'",
                                               "failed_at": (NOW - timedelta(minutes=5)).isoformat()}]
    assert body["health"]["database"] == "ok" and set(body["health"]) == {"database", "broker", "vc"}


def test_calls_per_minute_count_each_attempt_in_the_minute_it_started(session):
    [contact] = add_contacts(session, "spring", 1, status="ended")
    add_attempts(session, contact, (0, None), (0, None), (3, "BUSY"), (59, "BUSY"), (61, "BUSY"))
    window = Window(NOW, minutes=60)

    per_minute, dispositions = recent_calls(session, window)

    minutes = [datetime.fromisoformat(m["minute"]) for m in per_minute]
    assert minutes[-1] == NOW.replace(second=0, microsecond=0) and minutes[0] == minutes[-1] - timedelta(minutes=59)
    calls = {datetime.fromisoformat(m["minute"]): m["calls"] for m in per_minute}
    for ago, expected in ((0, 2), (3, 1), (59, 1), (1, 0)):
        assert calls[(NOW - timedelta(minutes=ago)).replace(second=0, microsecond=0)] == expected, ago
    assert dispositions == {"BUSY": 2}


def test_an_empty_store_has_no_answer_rate_and_every_minute_at_zero(session, settings):
    snapshot = dashboard_snapshot(session, settings.switches, NOW, minutes=30)

    assert snapshot["answer_rate"] is None and snapshot["dispositions"] == {}
    assert [m["calls"] for m in snapshot["calls_per_minute"]] == [0] * 30
    assert snapshot["campaigns"] == [] and snapshot["failed_tasks"] == {"count": 0, "latest": []}


def test_the_data_are_documented_and_the_pages_are_not(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    assert paths["/dashboard/data"]["get"]["security"] == [{"apiToken": []}, {"readToken": []}]
    assert not [path for path in paths if path.startswith("/dashboard") and path != "/dashboard/data"]
