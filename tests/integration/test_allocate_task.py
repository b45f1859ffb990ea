"""The beat's allocate task when the database is down: the tick fails, nothing changes, and the
next tick (the spec: "Dialer will retry on its next cycle") claims as usual."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.conftest import make_settings
from tests.factories import add_contacts
from workers import runtime as runtimes
from workers import tasks


@pytest.fixture
def use_settings(monkeypatch):
    installed = []

    def install(settings):
        rt = runtimes.Runtime(settings)
        installed.append(rt)
        runtimes.use_runtime(rt)
        return rt

    monkeypatch.setattr(tasks.originate, "delay", lambda *args: None)  # no broker round trip here
    yield install
    runtimes.use_runtime(None)
    for rt in installed:
        rt.close()


def test_a_tick_with_the_database_down_fails_and_the_next_one_claims(use_settings, session, database_url,
                                                                      redis_url):
    [contact_id] = add_contacts(session, "c1", 1)
    use_settings(make_settings("postgresql://postgres@127.0.0.1:1/none", redis_url))
    with pytest.raises(OperationalError):
        tasks.allocate()
    use_settings(make_settings(database_url, redis_url))
    assert tasks.allocate() == 1
    session.expire_all()
    status = session.execute(text("SELECT status FROM contacts WHERE id = :id"), {"id": contact_id}).scalar_one()
    assert status == "queued"
