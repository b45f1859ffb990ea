"""Retries by disposition where results are recorded: a result the campaign's policy retries puts
the contact back to pending with its next attempt time in PostgreSQL, the VC hears `final: false`;
with no rule left the contact is final as before (real PostgreSQL)."""

from datetime import timedelta

import pytest

from dialer.flows.policy_store import save_settings
from dialer.rules import states
from tests.calls import attempts, contact, db_now, dial, hangup, job_result, outbox, record
from tests.factories import add_contacts

BUSY_TWICE = {"retries": {"BUSY": {"retries": 2, "after_seconds": 60, "backoff": 2.0}}}


def busy_once(session, session_factory, settings, contact_id):
    call = dial(session, contact_id)
    record(session_factory, settings, hangup(call, "USER_BUSY", answered=False, sip_term_status="486"))
    return contact(session, contact_id)


@pytest.fixture
def busy_campaign(session):
    save_settings(session, "camp", BUSY_TWICE)
    session.commit()
    [contact_id] = add_contacts(session, "camp", 1, status=states.QUEUED)
    return contact_id


def test_a_busy_result_with_a_rule_left_goes_back_to_pending_at_its_next_attempt_time(
        session, session_factory, settings, busy_campaign):
    before = db_now(session)
    retried = busy_once(session, session_factory, settings, busy_campaign)

    assert (retried.status, retried.call_result, retried.disposition) == (states.PENDING, "USER_BUSY", "BUSY")
    assert before + timedelta(seconds=59) < retried.dial_after < db_now(session) + timedelta(seconds=61)
    [message] = outbox(session, busy_campaign)
    assert message.body["attempt"] == 1 and message.body["disposition"] == "BUSY"
    assert message.body["final"] is False and message.body["status"] == states.PENDING


def test_the_delay_grows_by_the_backoff_and_the_last_allowed_retry_is_final(
        session, session_factory, settings, busy_campaign):
    busy_once(session, session_factory, settings, busy_campaign)
    before = db_now(session)
    second = busy_once(session, session_factory, settings, busy_campaign)
    assert second.status == states.PENDING
    assert before + timedelta(seconds=119) < second.dial_after < db_now(session) + timedelta(seconds=121)

    third = busy_once(session, session_factory, settings, busy_campaign)

    assert (third.status, third.disposition, third.disposition_counts) == (states.ENDED, "BUSY", {"BUSY": 3})
    assert [m.body["final"] for m in outbox(session, busy_campaign)] == [False, False, True]
    assert [m.body["attempt"] for m in outbox(session, busy_campaign)] == [1, 2, 3]
    assert [a.disposition for a in attempts(session, busy_campaign)] == ["BUSY", "BUSY", "BUSY"]


def test_a_class_without_a_rule_is_final_at_once(session, session_factory, settings, busy_campaign):
    call = dial(session, busy_campaign)
    record(session_factory, settings, hangup(call, "NO_ANSWER", answered=False, sip_term_status="480"))

    ended = contact(session, busy_campaign)
    assert (ended.status, ended.disposition) == (states.ENDED, "NO_ANSWER")
    assert outbox(session, busy_campaign)[0].body["final"] is True


def test_max_attempts_caps_the_retries_of_every_class(session, session_factory, settings):
    save_settings(session, "camp", {**BUSY_TWICE, "max_attempts": 2})
    session.commit()
    [contact_id] = add_contacts(session, "camp", 1, status=states.QUEUED)

    assert busy_once(session, session_factory, settings, contact_id).status == states.PENDING
    assert busy_once(session, session_factory, settings, contact_id).status == states.ENDED


def test_a_campaign_without_settings_dials_once_as_before(session, session_factory, settings):
    [contact_id] = add_contacts(session, "plain", 1, status=states.QUEUED)

    ended = busy_once(session, session_factory, settings, contact_id)

    assert (ended.status, ended.call_result) == (states.ENDED, "USER_BUSY")
    assert outbox(session, contact_id)[0].body["final"] is True


def test_a_gateway_refusal_is_retried_only_by_an_explicit_rule(session, session_factory, settings):
    save_settings(session, "camp", {"retries": {"GATEWAY": {"retries": 1, "after_seconds": 5}}})
    session.commit()
    [with_rule] = add_contacts(session, "camp", 1, status=states.QUEUED)
    [without] = add_contacts(session, "plain", 1, status=states.QUEUED)
    calls = [dial(session, with_rule), dial(session, without)]

    record(session_factory, settings, *(job_result(call, "INVALID_GATEWAY") for call in calls))

    assert contact(session, with_rule).status == states.PENDING
    failed = contact(session, without)
    assert (failed.status, failed.call_result, failed.disposition) == (states.FAILED, "INVALID_GATEWAY", "GATEWAY")


def test_the_house_rules_retry_a_campaign_without_settings_of_its_own(session, session_factory, settings):
    from dataclasses import replace

    house = replace(settings, default_policy={"retries": {"BUSY": {"retries": 1, "after_seconds": 60,
                                                                    "backoff": 1.0}}})
    [contact_id] = add_contacts(session, "plain", 1, status=states.QUEUED)

    assert busy_once(session, session_factory, house, contact_id).status == states.PENDING
    assert busy_once(session, session_factory, house, contact_id).status == states.ENDED
