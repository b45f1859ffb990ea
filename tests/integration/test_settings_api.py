"""Versioned campaign settings over HTTP and in the store, on a real PostgreSQL."""

import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, text

from dialer.adapters.models import Campaign, CampaignSettings
from dialer.flows.policy_store import load_settings, policies_for, save_settings
from dialer.rules.policy import DEFAULTS, effective_policy, parse_policy
from tests.conftest import make_settings
from tests.contact_payloads import flat_contacts

BUSY_RULE = {"retries": {"BUSY": {"retries": 2, "after_seconds": 300}}, "max_attempts": 3}
HOUSE = {"retries": {"NO_ANSWER": {"retries": 1, "after_seconds": 600}}, "fallback_timezone": "Europe/London"}


def put(client, auth, campaign_id, body):
    return client.put(f"/campaigns/{campaign_id}/settings", json=body, headers=auth)


def versions(session, campaign_id):
    session.rollback()  # see what the app committed
    return list(session.scalars(select(CampaignSettings.version)
                                .where(CampaignSettings.campaign_id == campaign_id)
                                .order_by(CampaignSettings.version)))


@pytest.fixture
def house_client(database_url, redis_url, session_factory):
    """The API of a fleet whose DIALER_DEFAULT_POLICY is HOUSE."""
    from api import create_app

    app = create_app(make_settings(database_url, redis_url, default_policy=parse_policy(HOUSE)))
    app.config["TESTING"] = True
    return app.test_client()


def test_put_stores_the_settings_and_get_returns_them_with_defaults_filled_in(client, auth):
    client.post("/contacts/bulk", json=flat_contacts(2, campaign_id="c1"), headers=auth)
    response = put(client, auth, "c1", BUSY_RULE)
    assert response.status_code == 200
    expected = {**DEFAULTS, "retries": {"BUSY": {"retries": 2, "after_seconds": 300, "backoff": 1.0}},
                "max_attempts": 3, "version": 1}
    assert response.get_json() == expected
    got = client.get("/campaigns/c1/settings", headers=auth)
    assert (got.status_code, got.get_json()) == (200, expected)


def test_each_put_is_a_new_version_and_the_old_ones_are_kept(client, auth, session):
    assert put(client, auth, "c1", BUSY_RULE).get_json()["version"] == 1
    assert put(client, auth, "c1", {"max_attempts": 5}).get_json()["version"] == 2
    assert put(client, auth, "c2", {}).get_json()["version"] == 1
    current = client.get("/campaigns/c1/settings", headers=auth).get_json()
    assert (current["version"], current["max_attempts"], current["retries"]) == (2, 5, {})
    assert versions(session, "c1") == [1, 2]
    assert session.scalar(select(Campaign.settings_version).where(Campaign.id == "c1")) == 2


def test_put_before_any_contact_creates_the_campaign_running(client, auth, session):
    assert put(client, auth, "new-campaign", BUSY_RULE).status_code == 200
    session.rollback()
    assert session.get(Campaign, "new-campaign").state == "running"
    assert client.post("/contacts/bulk", json=flat_contacts(1, campaign_id="new-campaign"),
                       headers=auth).status_code == 201
    assert client.get("/campaigns/new-campaign/settings", headers=auth).get_json()["version"] == 1


def test_bad_settings_are_a_400_naming_the_field_and_change_nothing(client, auth, session):
    put(client, auth, "c1", BUSY_RULE)
    response = put(client, auth, "c1", {"retries": {"BUSY": {"retries": 2, "after_seconds": -5}},
                                        "max_attempts": 9})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid campaign settings: nothing changed"
    assert list(body["fields"]) == ["retries.BUSY.after_seconds"]
    assert versions(session, "c1") == [1]
    assert client.get("/campaigns/c1/settings", headers=auth).get_json()["max_attempts"] == 3


def test_bad_settings_for_an_unknown_campaign_create_no_campaign(client, auth, session):
    assert put(client, auth, "ghost", {"colour": "blue"}).status_code == 400
    session.rollback()
    assert session.get(Campaign, "ghost") is None


@pytest.mark.parametrize("body", [["max_attempts", 3], "text", 5])
def test_a_body_that_is_not_an_object_is_a_400(client, auth, body):
    response = put(client, auth, "c1", body)
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]


def test_a_body_that_is_not_json_is_a_400(client, auth):
    response = client.put("/campaigns/c1/settings", data="{not json", headers=auth)
    assert response.status_code == 400


@pytest.mark.parametrize("campaign_id", ["a,b", "a%20b", "-lead", "x" * 41])
def test_a_bad_campaign_id_is_a_400_on_put_and_get(client, auth, campaign_id):
    for response in (put(client, auth, campaign_id, {}),
                     client.get(f"/campaigns/{campaign_id}/settings", headers=auth)):
        assert response.status_code == 400
        assert list(response.get_json()["fields"]) == ["campaign_id"]


def test_get_of_an_unknown_campaign_is_a_404(client, auth):
    assert client.get("/campaigns/nobody/settings", headers=auth).status_code == 404


def test_a_campaign_without_settings_has_version_0_and_the_seeds_behaviour(client, auth):
    client.post("/contacts/bulk", json=flat_contacts(1, campaign_id="plain"), headers=auth)
    response = client.get("/campaigns/plain/settings", headers=auth)
    assert response.get_json() == {**DEFAULTS, "version": 0}


def test_the_read_token_may_get_but_not_put(client, auth, read_auth, session):
    put(client, auth, "c1", BUSY_RULE)
    assert client.get("/campaigns/c1/settings", headers=read_auth).status_code == 200
    assert put(client, read_auth, "c1", {"max_attempts": 7}).status_code == 403
    assert put(client, read_auth, "c2", {}).status_code == 403
    assert versions(session, "c1") == [1]
    assert session.get(Campaign, "c2") is None


def test_no_token_gets_a_401(client):
    assert client.get("/campaigns/c1/settings").status_code == 401
    assert client.put("/campaigns/c1/settings", json={}).status_code == 401


def test_house_defaults_lie_under_the_campaign_settings(house_client, auth):
    response = put(house_client, auth, "c1", BUSY_RULE)
    settings = response.get_json()
    assert set(settings["retries"]) == {"BUSY", "NO_ANSWER"}
    assert settings["fallback_timezone"] == "Europe/London"
    house_client.post("/contacts/bulk", json=flat_contacts(1, campaign_id="plain"), headers=auth)
    plain = house_client.get("/campaigns/plain/settings", headers=auth).get_json()
    assert plain == {**effective_policy(None, parse_policy(HOUSE)), "version": 0}


# The store


@contextmanager
def statements_sent(session):
    """The SQL statements the session's engine sends inside the block."""
    statements = []

    def record(connection, cursor, statement, *args):
        statements.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", record)


def test_policies_for_reads_every_campaign_in_one_query(session):
    save_settings(session, "custom", BUSY_RULE)
    save_settings(session, "custom", {"max_attempts": 2})
    session.execute(text("INSERT INTO campaigns (id) VALUES ('plain')"))
    session.commit()
    house = parse_policy(HOUSE)
    with statements_sent(session) as statements:
        policies = policies_for(session, ["custom", "plain", "unknown", "custom"], house)
    assert len(statements) == 1
    assert policies == {
        "custom": (2, effective_policy({"max_attempts": 2}, house)),
        "plain": (0, effective_policy(None, house)),
        "unknown": (0, effective_policy(None, house)),
    }


def test_policies_for_no_campaigns_asks_nothing(session):
    with statements_sent(session) as statements:
        assert policies_for(session, [], {}) == {}
    assert statements == []


def test_load_settings_of_an_unknown_campaign_is_none(session):
    assert load_settings(session, "nobody", {}) is None


def test_two_concurrent_saves_take_turns_and_get_versions_1_and_2(session_factory, engine):
    with session_factory() as setup:  # an existing campaign: the saves meet on its row, nowhere earlier
        setup.execute(text("INSERT INTO campaigns (id) VALUES ('c1')"))
        setup.commit()
    first = session_factory()
    assert save_settings(first, "c1", BUSY_RULE) == 1  # holds the campaign row lock until it commits
    second_version = []

    def second_save():
        with session_factory() as second:
            second_version.append(save_settings(second, "c1", {"max_attempts": 4}))
            second.commit()

    thread = threading.Thread(target=second_save)
    thread.start()
    wait_for_a_lock_wait(engine)
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert second_version == [2]
    with session_factory() as check:
        assert load_settings(check, "c1", {})["max_attempts"] == 4


def wait_for_a_lock_wait(engine, seconds=10):
    """Until some backend waits for a lock (the second save, blocked by the first)."""
    deadline = time.monotonic() + seconds
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            if connection.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND wait_event_type = 'Lock'")):
                return
            connection.rollback()
    raise AssertionError("the second save never waited for the first")
