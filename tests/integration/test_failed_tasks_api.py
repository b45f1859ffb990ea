"""GET /tasks/failed, POST /tasks/failed/<id>/requeue|discard: on the test database, with a broker
of this module's own (what a requeue sends is read back from its queue)."""

from datetime import UTC, datetime, timedelta

import pytest
from celery import Celery

from api import create_app
from api.extensions import db
from dialer.adapters.models import FailedTask
from dialer.flows.failed_tasks import record
from dialer.rules.failed_tasks import failure_record
from sim.testing import free_port
from tests.broker_messages import queued, status_of

NOW = datetime.now(UTC)


def client_on(settings, broker_url):
    """A test client of the API whose Celery app (routes from celeryconfig) sends to `broker_url`."""
    celery = Celery("dialer", set_as_current=False)
    celery.config_from_object("celeryconfig")
    celery.conf.broker_url = broker_url
    app = create_app(settings, celery=celery)
    app.config["TESTING"] = True
    return app, celery


@pytest.fixture
def api(settings, session_factory, own_redis, broker):
    app, celery = client_on(settings, own_redis.url)
    yield app.test_client()
    celery.close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def kept(session):
    """Failure ids by task id: an originate a day ago and a record_events an hour ago."""
    record(session, [
        failure_record("t-day", "dialer.originate", ["sw1", [7, 8]], {}, "KeyError: 'sw1'", "Traceback ...",
                       NOW - timedelta(days=1)),
        failure_record("t-hour", "dialer.record_events", [[{"type": "X"}]], {"k": 1}, "KeyError: 'X'", "",
                       NOW - timedelta(hours=1)),
    ])
    session.commit()
    return {row.task_id: row.id for row in session.query(FailedTask)}


def test_the_list_answers_the_read_token_with_every_column_newest_first(api, read_auth, kept):
    response = api.get("/tasks/failed", headers=read_auth)

    assert response.status_code == 200
    rows = response.get_json()["failed_tasks"]
    assert [row["task_id"] for row in rows] == ["t-hour", "t-day"]
    assert rows[1] == {"id": kept["t-day"], "task_id": "t-day", "name": "dialer.originate", "args": ["sw1", [7, 8]],
                       "kwargs": {}, "exception": "KeyError: 'sw1'", "traceback": "Traceback ...",
                       "failed_at": (NOW - timedelta(days=1)).isoformat(), "status": "failed",
                       "requeued_at": None, "requeue_task_id": None}


def test_the_list_filters_by_name_since_status_and_limit(api, read_auth, kept):
    def task_ids(query):
        rows = api.get(f"/tasks/failed?{query}", headers=read_auth).get_json()["failed_tasks"]
        return [row["task_id"] for row in rows]

    assert task_ids("name=dialer.originate") == ["t-day"]
    assert task_ids("since=2h") == ["t-hour"]
    assert task_ids("limit=1") == ["t-hour"]
    assert task_ids("status=discarded") == []
    assert task_ids("status=all&since=2000-01-01T00:00:00Z") == ["t-hour", "t-day"]


@pytest.mark.parametrize("query, field", [("since=yesterday", "since"), ("status=lost", "status"),
                                          ("limit=0", "limit"), ("limit=many", "limit"), ("name=", "name")])
def test_a_bad_filter_is_a_400_naming_the_field(api, read_auth, kept, query, field):
    response = api.get(f"/tasks/failed?{query}", headers=read_auth)
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == [field]


def test_the_list_needs_a_token(api, kept):
    assert api.get("/tasks/failed").status_code == 401


def test_requeue_sends_the_same_task_with_the_same_arguments_and_answers_the_row(api, auth, kept, broker, session):
    response = api.post(f"/tasks/failed/{kept['t-hour']}/requeue", headers=auth)

    assert response.status_code == 200
    [(name, task_id, args, kwargs)] = queued(broker, "results")
    assert (name, args, kwargs) == ("dialer.record_events", [[{"type": "X"}]], {"k": 1})
    body = response.get_json()
    assert (body["id"], body["status"], body["requeue_task_id"]) == (kept["t-hour"], "requeued", task_id)
    assert body["requeued_at"] is not None
    assert status_of(session, kept["t-hour"]) == "requeued"


def test_discard_marks_the_failure_and_sends_nothing(api, auth, kept, broker, session):
    response = api.post(f"/tasks/failed/{kept['t-day']}/discard", headers=auth)

    assert (response.status_code, response.get_json()["status"]) == (200, "discarded")
    assert status_of(session, kept["t-day"]) == "discarded"
    assert queued(broker, "originate") == []


@pytest.mark.parametrize("action, done", [("requeue", "requeued"), ("discard", "discarded")])
def test_a_failure_acted_on_already_is_a_409_and_an_unknown_one_a_404(api, auth, kept, action, done):
    first = api.post(f"/tasks/failed/{kept['t-day']}/{action}", headers=auth)
    again = api.post(f"/tasks/failed/{kept['t-day']}/{action}", headers=auth)

    assert (first.status_code, again.status_code) == (200, 409)
    as_task = f" (as task {first.get_json()['requeue_task_id']})" if action == "requeue" else ""
    assert again.get_json() == {"error": f"failed task {kept['t-day']} is {done} already{as_task}"}
    for unknown in ("999", str(2**64), "-1", "seven"):
        assert api.post(f"/tasks/failed/{unknown}/{action}", headers=auth).status_code == 404


@pytest.mark.parametrize("action", ["requeue", "discard"])
def test_the_read_token_may_not_requeue_or_discard(api, read_auth, kept, broker, session, action):
    assert api.post(f"/tasks/failed/{kept['t-day']}/{action}", headers=read_auth).status_code == 403
    assert status_of(session, kept["t-day"]) == "failed"
    assert queued(broker, "originate") == []


def test_requeue_with_the_broker_down_is_a_503_and_the_failure_stays(settings, session_factory, auth, kept, session):
    app, celery = client_on(settings, f"redis://127.0.0.1:{free_port()}/0")
    try:
        response = app.test_client().post(f"/tasks/failed/{kept['t-day']}/requeue", headers=auth)
    finally:
        celery.close()
        with app.app_context():
            db.engine.dispose()

    assert response.status_code == 503
    assert response.get_json() == {"error": "broker unavailable, try again later (the task is still failed)"}
    assert status_of(session, kept["t-day"]) == "failed"
