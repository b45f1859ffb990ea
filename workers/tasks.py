"""Celery tasks: thin wrappers that take ids, build nothing themselves (runtime.py does), and
call dialer/. Every body is idempotent, so `acks_late` redelivery is harmless."""

import logging
import time

from celery import shared_task
from sqlalchemy.exc import InterfaceError, OperationalError

from dialer.adapters import metrics
from dialer.flows import agents, allocator, dialing, inbox, outbox, pacing, predictive
from dialer.flows import reconcile as reconciling
from dialer.flows.expire import expire_contacts
from dialer.rules.dispositions import LOST
from workers.gateway_memo import RedisGatewayMemo, forget_refused
from workers.runtime import runtime

log = logging.getLogger(__name__)

ORIGINATE_BATCH = 25
DATABASE_ERRORS = (OperationalError, InterfaceError)  # the database is unreachable, not a bug
# Results must never be lost: a database outage is waited out (redelivery is harmless).
NEVER_GIVE_UP = dict(autoretry_for=DATABASE_ERRORS, retry_backoff=True, retry_backoff_max=30,
                     max_retries=None, retry_jitter=True)


@shared_task(name="dialer.allocate")
def allocate():
    """The beat's tick: count dialable contacts afresh, claim for the free slots, enqueue the work."""
    return _allocate(runtime(), count_dialable=True)


def _allocate(rt, count_dialable, dial_here=False):
    """Claim contacts for the free slots; originate them (here, for a small refill, which saves a
    trip through the broker; else through the originate queue) and ask the VC for agents."""
    started = time.perf_counter()
    with rt.sessions() as session:
        tick = allocator.allocate(session, rt.settings.switches, count_dialable=count_dialable,
                                    house_policy=rt.settings.default_policy)
        session.commit()
    metrics.observe_tick("beat" if count_dialable else "refill", time.perf_counter() - started, len(tick.claims))
    for switch_name, contact_ids in tick.ivr_by_switch().items():
        if dial_here and len(contact_ids) <= ORIGINATE_BATCH:
            _originate(rt, switch_name, contact_ids)
            continue
        for start in range(0, len(contact_ids), ORIGINATE_BATCH):
            originate.delay(switch_name, contact_ids[start:start + ORIGINATE_BATCH])
    if tick.agent_contacts():
        reserve_agents.delay(tick.agent_contacts())
    if tick.claims:
        log.info("task=allocate claimed=%d allotment=%s", len(tick.claims), tick.allotment)
    return len(tick.claims)


@shared_task(name="dialer.originate")
def originate(switch_name, contact_ids):
    _originate(runtime(), switch_name, contact_ids)


def _originate(rt, switch_name, contact_ids):
    with rt.sessions() as session:
        outcome = dialing.dial_ivr_contacts(session, rt.switches.get(switch_name), rt.settings,
                                            switch_name, contact_ids, RedisGatewayMemo(rt.redis, switch_name))
    if outcome.failed or outcome.retry:
        log.info("task=originate switch=%s dialed=%d failed=%s retry=%d", switch_name,
                 len(outcome.dialed), outcome.failed, len(outcome.retry))


@shared_task(name="dialer.reserve_agents")
def reserve_agents(contact_ids):
    rt = runtime()
    with rt.sessions() as session:
        agents.reserve_agents(session, rt.vc, rt.settings, contact_ids)


@shared_task(name="dialer.record_inbox", **NEVER_GIVE_UP)
def record_inbox():
    """Record every result waiting in the inbox (listeners and the CDR route nudge this; the beat
    sweeps with it too), then deliver the VC messages and refill the freed slots."""
    rt = runtime()
    rt.redis.delete(inbox.NUDGED)  # what arrives from now on asks again
    _record_inbox(rt)
    _abandon_overdue(rt)  # the connect deadline's backstop (the deadline task may have been lost)


def _record_inbox(rt):
    messages = freed = 0
    while True:
        with rt.sessions() as session:
            taken = inbox.record_pending(session, rt.settings)
            session.commit()
        metrics.count_results(taken.recorded.dispositions)
        metrics.observe_recorded(taken.recorded.hangups_ended_at)
        messages += taken.recorded.messages
        freed += taken.recorded.freed_slots
        forget_refused(rt.redis, taken.recorded.gateways_refused)
        _answered(rt, taken.recorded.answered)
        if taken.rows < inbox.BATCH:
            break
    if messages:
        request_delivery(rt)
    if freed:
        _allocate(rt, count_dialable=False, dial_here=True)  # refill the freed slots now
    return freed


def _answered(rt, answered):
    """Predictive customers just answered: ask the VC for agents, hang up on machines, and have
    the connect deadline checked the moment it passes."""
    if not (answered.held or answered.machines):
        return
    predictive.act_on_answers(rt.sessions, rt.vc, rt.switches, rt.settings, answered)
    if answered.held:
        connect_deadline.apply_async(countdown=rt.settings.predictive.abandon_seconds + 0.05)


@shared_task(name="dialer.pace")
def pace():
    """Every predictive campaign's pacing, from what it measured (dialer.flows.pacing)."""
    rt = runtime()
    with rt.sessions() as session:
        return {c: d.mode for c, d in pacing.pace_campaigns(session, rt.vc, rt.settings).items()}


@shared_task(name="dialer.ask_agent_again")
def ask_agent_again(contact_id):
    """A held predictive customer the VC had no agent for a moment ago: ask it again."""
    rt = runtime()
    with rt.sessions() as session:
        return predictive.ask_again(session, rt.vc, rt.settings, contact_id)


@shared_task(name="dialer.connect_deadline")
def connect_deadline():
    """Held predictive customers past the connect deadline: abandoned (the safe-harbour message)."""
    return len(_abandon_overdue(runtime()))


def _abandon_overdue(rt):
    with rt.sessions() as session:
        abandoned = predictive.abandon_overdue(session, rt.switches, rt.settings)
    if abandoned:
        request_delivery(rt)
    return abandoned


@shared_task(name="dialer.record_events", **NEVER_GIVE_UP)
def record_events(messages):
    """Results sent straight to the broker (listeners of earlier versions): into the inbox, then
    recorded like every other."""
    rt = runtime()
    with rt.sessions() as session:
        inbox.store(session, messages, inbox.EVENT)
        session.commit()
    _record_inbox(rt)


DELIVERY_REQUESTED = "dialer:deliver-outbox-requested"


def request_delivery(rt):
    """Enqueue an outbox delivery unless one is already queued or running: that one looks again
    for due messages when it is done, so at busy times one delivery takes all that piled up."""
    if rt.redis.set(DELIVERY_REQUESTED, "1", nx=True, ex=30):
        deliver_outbox.delay()


@shared_task(name="dialer.deliver_outbox", **NEVER_GIVE_UP)
def deliver_outbox():
    rt = runtime()
    try:
        with rt.sessions() as session:
            delivered, failed = outbox.deliver_due(session, rt.vc, limit=outbox.DELIVERY_BATCH)
    finally:
        rt.redis.delete(DELIVERY_REQUESTED)  # from now on what is written asks for a new delivery
    if not failed:  # a VC that failed is tried again on its retry schedule, not at once
        with rt.sessions() as session:
            # What was written while this one worked: now, not at the beat's next tick. While
            # another deliverer holds the lock, that one looks when done.
            again = outbox.has_due(session) and (delivered or outbox.deliverer_free(session))
        if again:
            request_delivery(rt)
    return delivered


@shared_task(name="dialer.expire")
def expire():
    rt = runtime()
    with rt.sessions() as session:
        changed = expire_contacts(session)
        inbox.forget_processed(session)
        session.commit()
    if changed:
        log.info("task=expire expired=%d", changed)
    return changed


@shared_task(name="dialer.reconcile")
def reconcile():
    rt = runtime()

    def live_calls_of(switch_name):
        body = rt.switches.get(switch_name).api("show channels as json")
        return reconciling.live_call_uuids(body)

    _record_inbox(rt)  # every result that has arrived counts before anything is called lost
    with rt.sessions() as session:
        repairs = reconciling.reconcile(session, rt.settings, live_calls_of)
    metrics.count_results({LOST: len(repairs.lost)})
    if repairs.lost or repairs.requeued:
        request_delivery(rt)
    return {"requeued": len(repairs.requeued), "lost": len(repairs.lost)}

