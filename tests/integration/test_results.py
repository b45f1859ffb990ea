"""record_results: a switch result → the contact, its call attempt and the VC outbox, in one
transaction; duplicates and results for calls that are not ours any more change nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from dialer.adapters.models import Contact, OutboxMessage
from dialer.flows.reconcile import reconcile
from dialer.flows.results import LOST
from dialer.rules import states
from tests.calls import (
    ENDED_AT,
    Call,
    attempts,
    contact,
    dial,
    hangup,
    job_result,
    missing,
    outbox,
    record,
    snapshot,
)
from tests.factories import add_contacts


def dialed_contact(session, campaign_type="IVR", **dial_options):
    [contact_id] = add_contacts(session, "camp-1", 1, campaign_type=campaign_type, status=states.QUEUED)
    if campaign_type == states.AGENT:
        dial_options.setdefault("agent", "2001")
        dial_options.setdefault("queue", "Sales Queue")
    return dial(session, contact_id, **dial_options)


def kinds(messages):
    return [(m.kind, m.path) for m in messages]


def test_a_hangup_ends_a_dialed_contact_with_its_cause_billsec_and_times(session, session_factory, settings):
    call = dialed_contact(session)

    recorded = record(session_factory, settings, hangup(call, "NORMAL_CLEARING", billsec=30))

    ended = contact(session, call.contact_id)
    assert (ended.status, ended.call_result, ended.billsec) == (states.ENDED, "NORMAL_CLEARING", 30)
    assert ended.answer_time == ENDED_AT - timedelta(seconds=30)
    assert ended.hangup_time == ENDED_AT
    assert recorded.ended == [call.contact_id]


def test_a_hangup_updates_the_calls_attempt_row(session, session_factory, settings):
    call = dialed_contact(session)

    record(session_factory, settings, hangup(call, "NORMAL_CLEARING", billsec=30, sip_term_status="200"))

    [attempt] = attempts(session, call.contact_id)
    assert attempt.uuid == call.uuid
    assert (attempt.hangup_cause, attempt.billsec, attempt.sip_term_status, attempt.result_source) == (
        "NORMAL_CLEARING", 30, "200", "hangup")
    assert (attempt.answer_time, attempt.hangup_time) == (ENDED_AT - timedelta(seconds=30), ENDED_AT)


def test_a_hangup_of_an_ivr_call_writes_exactly_one_call_result_message(session, session_factory, settings):
    call = dialed_contact(session)

    record(session_factory, settings, hangup(call, "NORMAL_CLEARING", billsec=30))

    [message] = outbox(session)
    assert (message.contact_id, message.kind, message.path, message.status) == (
        call.contact_id, "call_result", settings.vc_paths.call_result, "pending")
    assert message.body["callUid"] == call.contact_id
    assert message.body["callId"] == call.uuid
    assert (message.body["status"], message.body["callResult"], message.body["billsec"]) == (
        states.ENDED, "NORMAL_CLEARING", 30)
    assert message.body["hangupTime"] == ENDED_AT.isoformat()


def test_the_same_hangup_twice_changes_nothing_the_second_time(session, session_factory, settings):
    call = dialed_contact(session)
    record(session_factory, settings, hangup(call, "NORMAL_CLEARING", billsec=30))
    before = snapshot(session, call.contact_id)

    again = record(session_factory, settings, hangup(call, "NORMAL_CLEARING", billsec=30))

    assert snapshot(session, call.contact_id) == before
    assert len(outbox(session)) == 1
    assert (again.ended, again.messages) == ([], 0)


def test_the_same_hangup_twice_in_one_batch_writes_one_message(session, session_factory, settings):
    call = dialed_contact(session)

    record(session_factory, settings, hangup(call), hangup(call))

    assert kinds(outbox(session)) == [("call_result", settings.vc_paths.call_result)]


def test_a_hangup_for_a_contact_put_back_to_pending_changes_nothing(session, session_factory, settings):
    call = dialed_contact(session)
    record(session_factory, settings, job_result(call, "GATEWAY_DOWN"))
    before = snapshot(session, call.contact_id)
    assert before["contact"]["status"] == states.PENDING

    recorded = record(session_factory, settings, hangup(call, "NORMAL_CLEARING"))

    assert snapshot(session, call.contact_id) == before
    assert (recorded.ended, recorded.messages) == ([], 0)


def test_a_second_hangup_for_an_ended_contact_keeps_its_recorded_result(session, session_factory, settings):
    call = dialed_contact(session)
    record(session_factory, settings, hangup(call, "NORMAL_CLEARING", billsec=30))
    before = snapshot(session, call.contact_id)

    record(session_factory, settings, hangup(call, "USER_BUSY", answered=False, sip_term_status="486"))

    assert snapshot(session, call.contact_id) == before


@pytest.mark.parametrize("status", [states.PENDING, states.AGENT_PENDING, states.STOPPED, states.FAILED,
                                    states.REMOVED])
def test_a_hangup_for_a_contact_neither_queued_nor_dialed_changes_nothing(session, session_factory, settings,
                                                                          status):
    [contact_id] = add_contacts(session, "camp-1", 1, status=status)
    session.execute(update(Contact).where(Contact.id == contact_id).values(call_uuid=contact_id))
    session.commit()
    before = snapshot(session, contact_id)

    recorded = record(session_factory, settings, hangup(Call(contact_id, "camp-1", contact_id, "no-job")))

    assert snapshot(session, contact_id) == before
    assert (recorded.ended, recorded.messages) == ([], 0)


@pytest.mark.parametrize("cause, sip", [("USER_BUSY", "486"), ("CALL_REJECTED", "603"), ("NO_ANSWER", None)])
def test_an_agent_call_the_customer_did_not_answer_writes_call_result_and_end_chat(session, session_factory,
                                                                                  settings, cause, sip):
    call = dialed_contact(session, campaign_type=states.AGENT)

    record(session_factory, settings, hangup(call, cause, answered=False, sip_term_status=sip))

    assert contact(session, call.contact_id).call_result == cause
    messages = outbox(session)
    assert kinds(messages) == [("call_result", settings.vc_paths.call_result),
                               ("end_chat", settings.vc_paths.end_chat)]
    end_chat = messages[1].body
    assert end_chat["callUid"] == call.contact_id
    assert end_chat["header"]["channelData"]["intent"] == "END_CHAT"
    assert (end_chat["body"]["callResult"], end_chat["body"]["agent"]) == (cause, "2001")


def test_an_answered_agent_call_writes_call_result_and_recording_link(session, session_factory, settings):
    call = dialed_contact(session, campaign_type=states.AGENT)

    record(session_factory, settings, hangup(call, "NORMAL_CLEARING", billsec=95))

    messages = outbox(session)
    assert kinds(messages) == [("call_result", settings.vc_paths.call_result),
                               ("recording", settings.vc_paths.recording)]
    assert (messages[0].body["agent"], messages[0].body["queue"]) == ("2001", "Sales Queue")
    recording = messages[1].body
    assert (recording["callUid"], recording["callId"], recording["agent"]) == (call.contact_id, call.uuid, "2001")
    assert recording["recordingUrl"] == settings.recording_url_template.format(uuid=call.uuid)


def test_an_invalid_gateway_job_result_fails_the_contact_with_invalid_gateway(session, session_factory,
                                                                               settings):
    call = dialed_contact(session)

    recorded = record(session_factory, settings, job_result(call, "INVALID_GATEWAY"))

    failed = contact(session, call.contact_id)
    assert (failed.status, failed.call_result) == (states.FAILED, "INVALID_GATEWAY")
    [attempt] = attempts(session, call.contact_id)
    assert (attempt.job_status, attempt.hangup_cause, attempt.result_source) == ("err", "INVALID_GATEWAY", "job")
    assert recorded.failed == [call.contact_id]


def test_a_gateway_down_job_result_puts_the_contact_back_to_pending_later_on_any_switch(session, session_factory,
                                                                                         settings):
    call = dialed_contact(session)

    recorded = record(session_factory, settings, job_result(call, "GATEWAY_DOWN"))

    retried = contact(session, call.contact_id)
    assert (retried.status, retried.call_result, retried.switch_name) == (states.PENDING, "GATEWAY_DOWN", None)
    assert retried.dial_after > retried.status_changed_at
    assert recorded.retry == [call.contact_id]
    assert outbox(session) == []


def test_a_destination_out_of_order_job_result_puts_the_contact_back_to_pending(session, session_factory,
                                                                                 settings):
    call = dialed_contact(session)

    record(session_factory, settings, job_result(call, "DESTINATION_OUT_OF_ORDER"))

    retried = contact(session, call.contact_id)
    assert (retried.status, retried.switch_name) == (states.PENDING, None)
    assert retried.dial_after > retried.status_changed_at


def test_a_job_result_with_an_unknown_job_uuid_changes_nothing_even_for_a_live_contacts_call(
        session, session_factory, settings):
    # A second originate with the same origination_uuid is refused by the switch, and its
    # BACKGROUND_JOB names the uuid (and our contact id) of the call that is live.
    call = dialed_contact(session)
    before = snapshot(session, call.contact_id)

    recorded = record(session_factory, settings,
                      job_result(call, "DESTINATION_OUT_OF_ORDER", job_uuid="11111111-2222-3333-4444-555555555555"))

    assert snapshot(session, call.contact_id) == before
    assert recorded.freed_slots == 0


def test_a_busy_job_result_leaves_the_contact_to_its_hangup_event(session, session_factory, settings):
    call = dialed_contact(session)
    before = snapshot(session, call.contact_id)

    record(session_factory, settings, job_result(call, "USER_BUSY"))

    after = snapshot(session, call.contact_id)
    assert after["contact"] == before["contact"]
    assert after["outbox"] == []
    assert after["attempts"][0]["job_status"] == "err"  # bookkeeping only: the hangup carries the result

    record(session_factory, settings, hangup(call, "USER_BUSY", answered=False, sip_term_status="486"))
    assert contact(session, call.contact_id).call_result == "USER_BUSY"


@pytest.mark.parametrize("cause, status", [("GATEWAY_DOWN", states.PENDING), ("INVALID_GATEWAY", states.FAILED)])
def test_a_job_result_for_an_agent_call_that_never_got_a_channel_writes_end_chat(session, session_factory,
                                                                                 settings, cause, status):
    call = dialed_contact(session, campaign_type=states.AGENT)

    record(session_factory, settings, job_result(call, cause))

    assert contact(session, call.contact_id).status == status
    [message] = outbox(session)
    assert (message.kind, message.path, message.contact_id) == ("end_chat", settings.vc_paths.end_chat,
                                                                 call.contact_id)
    assert message.body["header"]["channelData"]["intent"] == "END_CHAT"
    assert message.body["body"]["agent"] == "2001"


def close_as_lost(session, session_factory, settings, call):
    missing(session, [call.contact_id], settings.reconcile_grace_seconds + 5)
    with session_factory() as reconciling:
        repairs = reconcile(reconciling, settings, lambda switch_name: set())
    assert repairs.lost == [call.contact_id]
    assert contact(session, call.contact_id).call_result == LOST


def test_a_real_hangup_after_reconcile_closed_the_call_as_lost_replaces_lost_with_the_real_cause(
        session, session_factory, settings):
    call = dialed_contact(session)
    close_as_lost(session, session_factory, settings, call)

    record(session_factory, settings, hangup(call, "NORMAL_CLEARING", billsec=30))

    ended = contact(session, call.contact_id)
    assert (ended.status, ended.call_result, ended.billsec, ended.hangup_time) == (
        states.ENDED, "NORMAL_CLEARING", 30, ENDED_AT)
    results = [(m.body["callResult"], m.status) for m in outbox(session) if m.kind == "call_result"]
    # The LOST result was not sent yet: it never will be; the real one is all the VC hears.
    assert results == [(LOST, "superseded"), ("NORMAL_CLEARING", "pending")]
    assert "replaces" not in outbox(session)[-1].body


def test_a_real_hangup_after_the_lost_result_was_delivered_says_it_replaces_that_message(
        session, session_factory, settings):
    call = dialed_contact(session)
    close_as_lost(session, session_factory, settings, call)
    [lost] = outbox(session)
    session.execute(update(OutboxMessage).where(OutboxMessage.id == lost.id).values(status="delivered"))
    session.commit()

    record(session_factory, settings, hangup(call, "NORMAL_CLEARING", billsec=30))

    [delivered, real] = outbox(session)
    assert (delivered.status, delivered.body["callResult"]) == ("delivered", LOST)
    assert (real.body["callResult"], real.body["replaces"]) == ("NORMAL_CLEARING", lost.body["messageId"])
    assert (delivered.sequence, real.sequence) == (1, 2)
    assert real.body["sequence"] == 2


def test_a_real_hangup_after_reconcile_closed_the_call_as_lost_also_corrects_its_attempt_row(
        session, session_factory, settings):
    call = dialed_contact(session)
    close_as_lost(session, session_factory, settings, call)

    record(session_factory, settings, hangup(call, "NORMAL_CLEARING", billsec=30))

    [attempt] = attempts(session, call.contact_id)
    assert (attempt.hangup_cause, attempt.billsec, attempt.hangup_time, attempt.result_source) == (
        "NORMAL_CLEARING", 30, ENDED_AT, "hangup")



@pytest.mark.parametrize("cause, status", [("INVALID_GATEWAY", states.FAILED), ("GATEWAY_DOWN", states.PENDING)])
def test_a_job_result_arriving_after_reconcile_closed_the_call_as_lost_replaces_lost(session, session_factory,
                                                                                     settings, cause, status):
    # The BACKGROUND_JOB waited in a backlogged results queue longer than the reconcile grace.
    call = dialed_contact(session)
    close_as_lost(session, session_factory, settings, call)

    record(session_factory, settings, job_result(call, cause))

    replaced = contact(session, call.contact_id)
    assert (replaced.status, replaced.call_result) == (status, cause)
