"""reconcile: leases on `queued` and `agent_pending`, and `dialed` contacts whose call the switch
no longer has; live_call_uuids on FreeSWITCH's own `show channels as json` replies."""

from dataclasses import replace

import pytest
from sqlalchemy import update

from dialer.adapters.esl import SwitchUnreachable
from dialer.adapters.models import CallAttempt
from dialer.config import SwitchConfig
from dialer.flows.inbox import EVENT, store
from dialer.flows.reconcile import live_call_uuids, reconcile
from dialer.flows.results import LOST
from dialer.rules import states
from dialer.rules.event_messages import to_message
from tests.calls import age, attempts, contact, dial, hangup, missing, outbox, snapshot
from tests.factories import add_contacts
from tests.transcripts import api_replies

LEASE, RESERVATION, GRACE = 60, 120, 15


@pytest.fixture
def settings(settings):
    return replace(settings, queued_lease_seconds=LEASE, reservation_timeout_seconds=RESERVATION,
                   reconcile_grace_seconds=GRACE)


def live(*call_uuids):
    """A live_calls_of for switches that have exactly these calls up."""
    return lambda switch_name: set(call_uuids)


NOTHING_LIVE = live()


def run(session_factory, settings, live_calls_of=NOTHING_LIVE):
    with session_factory() as session:
        return reconcile(session, settings, live_calls_of)


def dialed(session, campaign_type="IVR", seconds_ago=GRACE + 5, missing_for=GRACE + 1, **dial_options):
    """A dialed contact; `missing_for`: seconds since reconcile first found its call gone (None: never)."""
    [contact_id] = add_contacts(session, "camp-1", 1, campaign_type=campaign_type, status=states.QUEUED)
    if campaign_type == states.AGENT:
        dial_options.setdefault("agent", "2001")
    call = dial(session, contact_id, **dial_options)
    age(session, [contact_id], seconds_ago)
    if missing_for is not None:
        missing(session, [contact_id], missing_for)
    return call


def test_a_queued_contact_past_its_lease_goes_back_to_pending(session, session_factory, settings):
    [stale] = add_contacts(session, "camp-1", 1, status=states.QUEUED, switch_name="sw1")
    age(session, [stale], LEASE + 1)

    repairs = run(session_factory, settings)

    requeued = contact(session, stale)
    assert (requeued.status, requeued.switch_name) == (states.PENDING, None)
    assert repairs.requeued == [stale]


def test_a_queued_agent_contact_past_its_lease_frees_its_reserved_agent_with_end_chat(
        session, session_factory, settings):
    [stale] = add_contacts(session, "camp-1", 1, campaign_type=states.AGENT, status=states.QUEUED,
                           switch_name="sw1", agent="2001", agent_queue="Sales Queue")
    age(session, [stale], LEASE + 1)

    run(session_factory, settings)

    assert contact(session, stale).status == states.PENDING
    assert [(m.kind, m.body["header"]["channelData"]["intent"]) for m in outbox(session, stale)] == [
        ("end_chat", "END_CHAT")]


def test_a_queued_contact_within_its_lease_is_left_alone(session, session_factory, settings):
    [fresh] = add_contacts(session, "camp-1", 1, status=states.QUEUED, switch_name="sw1")
    age(session, [fresh], LEASE - 10)
    before = snapshot(session, fresh)

    repairs = run(session_factory, settings)

    assert snapshot(session, fresh) == before
    assert repairs.requeued == []


def test_an_agent_pending_contact_past_the_reservation_timeout_goes_back_to_pending(session, session_factory,
                                                                                    settings):
    [stale, fresh] = add_contacts(session, "camp-1", 2, campaign_type=states.AGENT, status=states.AGENT_PENDING)
    age(session, [stale], RESERVATION + 1)
    age(session, [fresh], RESERVATION - 10)  # past the queued lease, but that lease is not its own

    repairs = run(session_factory, settings)

    assert contact(session, stale).status == states.PENDING
    assert contact(session, fresh).status == states.AGENT_PENDING
    assert repairs.reservations_expired == [stale]


def test_a_dialed_contact_whose_call_is_live_is_left_alone(session, session_factory, settings):
    call = dialed(session, seconds_ago=3600, missing_for=None)
    before = snapshot(session, call.contact_id)

    repairs = run(session_factory, settings, live(call.uuid, "some-other-call"))

    assert snapshot(session, call.contact_id) == before
    assert repairs.lost == []


def test_a_call_first_found_gone_is_only_marked_missing_however_old_the_dial(session, session_factory, settings):
    # An hour-long call that just hung up: its result may still be on its way.
    call = dialed(session, seconds_ago=3600, missing_for=None)

    repairs = run(session_factory, settings)

    still = contact(session, call.contact_id)
    assert (still.status, still.call_result) == (states.DIALED, None)
    assert still.missing_since is not None
    assert repairs.lost == [] and outbox(session) == []


def test_a_call_dialed_while_the_switch_was_listing_its_calls_is_not_marked_missing(
        session, session_factory, settings):
    [contact_id] = add_contacts(session, "camp-1", 1, status=states.QUEUED)

    def listed_then_dialed(switch_name):
        with session_factory() as worker:  # a worker dials it right after the switch answered
            dial(worker, contact_id)
        return set()

    run(session_factory, settings, listed_then_dialed)

    assert contact(session, contact_id).missing_since is None


def test_a_call_missing_for_less_than_the_grace_is_left_dialed(session, session_factory, settings):
    call = dialed(session, missing_for=GRACE - 5)

    run(session_factory, settings)

    assert contact(session, call.contact_id).status == states.DIALED


def test_a_missing_call_seen_live_again_is_no_longer_missing(session, session_factory, settings):
    call = dialed(session, missing_for=GRACE - 5)  # e.g. a switch that answered with a partial list

    run(session_factory, settings, live(call.uuid))

    assert contact(session, call.contact_id).missing_since is None


def test_a_dialed_contact_whose_originate_may_never_have_been_sent_is_lost_never_dialed_again(
        session, session_factory, settings):
    # A worker died between committing `dialed` and hearing the switch take the bgapi: the
    # originate may have rung the customer. Only an operator may decide to dial again.
    call = dialed(session, sent=False)

    repairs = run(session_factory, settings)

    lost = contact(session, call.contact_id)
    assert (lost.status, lost.call_result) == (states.ENDED, LOST)
    assert repairs.lost == [call.contact_id]


def test_a_call_whose_result_waits_in_the_inbox_is_not_called_lost(session, session_factory, settings):
    call = dialed(session)
    with session_factory() as writing:
        store(writing, [to_message(hangup(call, "USER_BUSY", answered=False))], EVENT)
        writing.commit()

    repairs = run(session_factory, settings)

    assert contact(session, call.contact_id).status == states.DIALED
    assert repairs.lost == []


@pytest.mark.parametrize("sent_as", ["dial_time", "job_status"])
def test_a_dialed_ivr_contact_whose_call_stayed_gone_past_the_grace_is_ended_as_lost_with_a_call_result(
        session, session_factory, settings, sent_as):
    call = dialed(session, sent=sent_as == "dial_time")
    if sent_as == "job_status":  # the bgapi went out: its BACKGROUND_JOB came back +OK
        session.execute(update(CallAttempt).where(CallAttempt.uuid == call.uuid).values(job_status="ok"))
        session.commit()

    repairs = run(session_factory, settings)

    lost = contact(session, call.contact_id)
    assert (lost.status, lost.call_result) == (states.ENDED, LOST)
    [attempt] = attempts(session, call.contact_id)
    assert (attempt.hangup_cause, attempt.result_source) == (LOST, "reconcile")
    [message] = outbox(session)
    assert (message.kind, message.path) == ("call_result", settings.vc_paths.call_result)
    assert (message.body["callUid"], message.body["status"], message.body["callResult"]) == (
        call.contact_id, states.ENDED, LOST)
    assert (message.sequence, message.body["sequence"]) == (1, 1)
    assert repairs.lost == [call.contact_id]


def test_a_dialed_agent_contact_whose_call_vanished_gets_call_result_and_end_chat(session, session_factory,
                                                                                  settings):
    call = dialed(session, campaign_type=states.AGENT)

    run(session_factory, settings)

    assert contact(session, call.contact_id).call_result == LOST
    messages = outbox(session)
    assert [(m.kind, m.path) for m in messages] == [("call_result", settings.vc_paths.call_result),
                                                    ("end_chat", settings.vc_paths.end_chat)]
    assert messages[1].body["header"]["channelData"]["intent"] == "END_CHAT"
    assert messages[1].body["body"]["agent"] == "2001"


def test_a_switch_that_cannot_be_reached_is_skipped_and_reported(session, session_factory, settings):
    settings = replace(settings, switches=(SwitchConfig("sw1", "127.0.0.1", 8021, "pw", 10, 100.0),
                                           SwitchConfig("sw2", "127.0.0.1", 8022, "pw", 10, 100.0)))
    on_sw1 = dialed(session, switch_name="sw1")
    on_sw2 = dialed(session, switch_name="sw2")

    def live_calls_of(switch_name):
        if switch_name == "sw1":
            raise SwitchUnreachable("127.0.0.1:8021: connection refused")
        return set()

    repairs = run(session_factory, settings, live_calls_of)

    assert repairs.unreachable_switches == ["sw1"]
    assert contact(session, on_sw1.contact_id).status == states.DIALED  # its calls may well be up
    assert contact(session, on_sw2.contact_id).call_result == LOST
    assert repairs.lost == [on_sw2.contact_id]


def test_leases_are_repaired_even_when_every_switch_is_unreachable(session, session_factory, settings):
    [stale] = add_contacts(session, "camp-1", 1, status=states.QUEUED)
    age(session, [stale], LEASE + 1)

    def unreachable(switch_name):
        raise SwitchUnreachable("down")

    repairs = run(session_factory, settings, unreachable)

    assert contact(session, stale).status == states.PENDING
    assert repairs.unreachable_switches == ["sw1"]


def show_channels_as_json(transcript):
    [body, *_] = [body for command, body in api_replies(transcript) if command == "api show channels as json"]
    return body.decode()


def test_live_call_uuids_of_an_idle_switch_is_empty():
    body = show_channels_as_json("02")
    assert body.strip() == '{"row_count": 0}'
    assert live_call_uuids(body) == set()


def test_live_call_uuids_lists_every_channel_of_a_busy_switch():
    body = show_channels_as_json("03")
    assert live_call_uuids(body) == {
        "02e35ba0-1291-44c7-9977-9f8e87de9aa2",  # parked, our origination_uuid
        "1527a4b4-3536-43ed-b073-3ff403a3f72c",  # parked
        "3df8a742-e3eb-4e88-b5aa-872b8d2a3ef5",  # bridged to loopback/7777
        "db1d18f9-f7c0-4e19-98d4-3478b0e16825",  # loopback a-leg
        "953b38f3-dda4-4fc6-9d9d-7068736e89b0",  # loopback b-leg
    }
