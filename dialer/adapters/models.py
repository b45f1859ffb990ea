"""Tables: campaigns, contacts, call attempts and the voice-connector outbox.

Column names of `contacts` are the spec's contact table ("Contact Structure") plus the agent fields
and what the engine needs (leases, retry time, call outcome). Every time is timestamptz.
"""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), server_default="running")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    settings_version: Mapped[int | None] = mapped_column(Integer)  # None: the house defaults


class CampaignSettings(Base):
    """Every version of a campaign's policy (DESIGN.md "Campaign policy"); a change is a new row."""

    __tablename__ = "campaign_settings"

    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    settings: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class DncNumber(Base):
    """A number nobody may call: on the global list (campaign_id '') or one campaign's."""

    __tablename__ = "dnc_numbers"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True, server_default="")
    reason: Mapped[str] = mapped_column(String(200), server_default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class CallingWindow(Base):
    """Whether a campaign's calling hours are open now in one zone set: worked out in Python by the
    tick when `changes_at` passes or the settings change, read by the claim statement."""

    __tablename__ = "calling_windows"

    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    zone_key: Mapped[str] = mapped_column(Text, primary_key=True)  # see Contact.zone_key
    open_until: Mapped[datetime | None] = mapped_column(Timestamp)  # None or past: closed
    changes_at: Mapped[datetime | None] = mapped_column(Timestamp)  # when to work it out again
    settings_version: Mapped[int | None] = mapped_column(Integer)  # the settings it was worked out for


class Contact(Base):
    __tablename__ = "contacts"

    # The spec's contact table.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_number: Mapped[str] = mapped_column(String(20))
    campaign_type: Mapped[str] = mapped_column(String(20))
    gateway_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    call_result: Mapped[str | None] = mapped_column(String(40))
    received_time: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    dial_time: Mapped[datetime | None] = mapped_column(Timestamp)
    campaign_contact_id: Mapped[str | None] = mapped_column(String(40))
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=False)
    start_time: Mapped[datetime] = mapped_column(Timestamp)
    end_time: Mapped[datetime] = mapped_column(Timestamp)
    priority: Mapped[int] = mapped_column(SmallInteger)
    ivr: Mapped[str | None] = mapped_column(String(20))
    dialing_mode: Mapped[str | None] = mapped_column(String(20))
    routing_mode: Mapped[str | None] = mapped_column(String(20))
    resource_id: Mapped[str | None] = mapped_column(String(40))
    queue_name: Mapped[str | None] = mapped_column(String(40))

    # From the "Campaign contact" payload beyond the table.
    scheduled_time: Mapped[datetime | None] = mapped_column(Timestamp)
    service_identifier: Mapped[str | None] = mapped_column(String(40))
    customer_ref: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict | None] = mapped_column(JSONB)

    # Engine bookkeeping.
    dial_after: Mapped[datetime] = mapped_column(Timestamp)  # max(start, scheduled, retry time)
    status_changed_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    claimed_at: Mapped[datetime | None] = mapped_column(Timestamp)  # the calls-per-second budget reads it
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    switch_name: Mapped[str | None] = mapped_column(String(40))
    call_uuid: Mapped[str | None] = mapped_column(String(40))
    agent: Mapped[str | None] = mapped_column(String(20))
    agent_queue: Mapped[str | None] = mapped_column(String(40))
    answer_time: Mapped[datetime | None] = mapped_column(Timestamp)
    hangup_time: Mapped[datetime | None] = mapped_column(Timestamp)
    billsec: Mapped[int | None] = mapped_column(Integer)
    # When reconcile first found the call gone from the switch: LOST only a grace period after that.
    missing_since: Mapped[datetime | None] = mapped_column(Timestamp)
    vc_sequence: Mapped[int] = mapped_column(Integer, server_default="0")  # the last outbox sequence given

    # Campaign policy.
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA, given at intake
    # The customer's zones, space-separated and sorted (from `timezone` or the number); '' = unknown,
    # the campaign's fallback zone. Worked out at intake, never per tick.
    zone_key: Mapped[str] = mapped_column(Text, server_default="")
    e164: Mapped[str | None] = mapped_column(String(24))  # the number normalised: DNC and per-number caps
    disposition: Mapped[str | None] = mapped_column(String(20))  # class of the last result
    disposition_counts: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))

    __table_args__ = (
        # "Dialable contacts per campaign, by priority then FIFO" walks this partial index in order.
        Index("ix_contacts_dialable", "campaign_id", "priority", "received_time", "id",
              postgresql_where=text("status = 'pending'")),
        # Leases and sweeps look only at in-flight contacts.
        Index("ix_contacts_in_flight", "status", "status_changed_at",
              postgresql_where=text("status IN ('queued', 'agent_pending', 'dialed')")),
        Index("ix_contacts_campaign_status", "campaign_id", "status"),
        Index("ix_contacts_claimed_at", "claimed_at"),
        Index("ix_contacts_end_time_pending", "end_time", postgresql_where=text("status = 'pending'")),
        # The claim of a campaign with calling hours reads its open zones one by one, in dialing order.
        Index("ix_contacts_dialable_zone", "campaign_id", "zone_key", "priority", "received_time", "id",
              postgresql_where=text("status = 'pending'")),
    )


class CallAttempt(Base):
    __tablename__ = "call_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    uuid: Mapped[str] = mapped_column(String(40), unique=True)
    job_uuid: Mapped[str] = mapped_column(String(40), unique=True)
    switch_name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))  # IVR or AGENT
    agent: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    dial_time: Mapped[datetime | None] = mapped_column(Timestamp)
    answer_time: Mapped[datetime | None] = mapped_column(Timestamp)
    hangup_time: Mapped[datetime | None] = mapped_column(Timestamp)
    hangup_cause: Mapped[str | None] = mapped_column(String(40))
    billsec: Mapped[int | None] = mapped_column(Integer)
    sip_term_status: Mapped[str | None] = mapped_column(String(10))
    job_status: Mapped[str | None] = mapped_column(String(10))  # ok / err, from BACKGROUND_JOB
    result_source: Mapped[str | None] = mapped_column(String(20))  # hangup, job, reconcile
    settings_version: Mapped[int | None] = mapped_column(Integer)  # the policy it was dialed under
    disposition: Mapped[str | None] = mapped_column(String(20))
    number: Mapped[str | None] = mapped_column(String(24))  # E.164: calls per number per 24 h

    __table_args__ = (Index("ix_call_attempts_number_created_at", "number", "created_at"),)


class OutboxMessage(Base):
    """A message for the voice connector, written in the transaction that decided it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contact_id: Mapped[str | None] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # call_result, end_chat, recording
    path: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict] = mapped_column(JSONB)
    # pending, delivered, dead; superseded: a LOST result a real one replaced before it was sent
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    sequence: Mapped[int] = mapped_column(Integer, server_default="0")  # per contact, 1, 2, 3 ...
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_outbox_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        # "Is an earlier message of this contact still undelivered?" (delivery keeps each contact's order)
        Index("ix_outbox_contact_id_id_undelivered", "contact_id", "id",
              postgresql_where=text("status IN ('pending', 'dead')")),
    )


class CallEvent(Base):
    """The result inbox: every call result the switch reported (a hangup event, a CDR, a job result),
    written by whoever received it before anything else happens to it, once per call and kind.

    Two listeners and the CDR path write the same result; the unique (kind, key) collapses them.
    Workers record unprocessed rows and mark them processed in the same transaction, so a result
    survives any one process dying at any moment.
    """

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # hangup (event or CDR), job
    key: Mapped[str] = mapped_column(String(40))  # the call's uuid for hangups, the Job-UUID for jobs
    source: Mapped[str] = mapped_column(String(10))  # event, cdr
    body: Mapped[dict] = mapped_column(JSONB)  # dialer.rules.event_messages.to_message of the result
    received_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(Timestamp)

    __table_args__ = (
        UniqueConstraint("kind", "key"),
        Index("ix_call_events_unprocessed", "id", postgresql_where=text("processed_at IS NULL")),
        Index("ix_call_events_processed_at", "processed_at"),
    )


class DialableBacklog(Base):
    """Dialable contacts per campaign as of the last beat tick (UNLOGGED: a cache, rebuilt each tick).

    Counting a million pending contacts takes longer than a tick may; ticks run right after a
    hangup read this instead and take their own claims off it.
    """

    __tablename__ = "dialable_backlog"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dialable: Mapped[int] = mapped_column(Integer)
    refreshed_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class FailedTask(Base):
    """A Celery task that failed for good (retries exhausted, or an error that is not retried), kept
    with its arguments so that an operator can send it again (dialer.flows.failed_tasks).

    Written from the workers' `task_failure` signal (workers/failures.py); one row per Celery task
    id, so a failure seen twice (a redelivered message) is kept once. A requeue sends a new task
    (a new id): if that one fails too, it is a new row.
    """

    __tablename__ = "failed_tasks"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    args: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    kwargs: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    exception: Mapped[str] = mapped_column(String(1000), server_default="")  # "TypeError: ...", cut short
    traceback: Mapped[str] = mapped_column(Text, server_default="")
    failed_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now(), index=True)
    # failed, requeued, discarded (a CHECK in migration 0005)
    status: Mapped[str] = mapped_column(String(10), server_default="failed")
    requeued_at: Mapped[datetime | None] = mapped_column(Timestamp)
    requeue_task_id: Mapped[str | None] = mapped_column(String(200))


class PredictiveCall(Base):
    """The abandonment ledger: one row per predictive call, what happened to it and when, kept at
    least 30 days (the US measures abandonment over 30 days, the UK over 24 hours).

    state: dialed -> held (a person answered; waiting for an agent until `deadline_at`) ->
    connected | abandoned; machine (answered by one: never connected); ended (the call is over).
    `outcome` (dialer.rules.abandonment): PERSON_CONNECTED, ABANDONED, MACHINE, NOT_ANSWERED.
    """

    __tablename__ = "predictive_calls"

    uuid: Mapped[str] = mapped_column(String(40), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[str] = mapped_column(String(40))
    dialed_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    answered_at: Mapped[datetime | None] = mapped_column(Timestamp)
    answered_by: Mapped[str | None] = mapped_column(String(10))  # person, machine
    # When the dialer recorded the answer (its own clock, like dialed_at, connected_at and ended_at,
    # which pacing measures with; answered_at is the switch's, which the deadline counts from)
    held_at: Mapped[datetime | None] = mapped_column(Timestamp)
    deadline_at: Mapped[datetime | None] = mapped_column(Timestamp)
    connected_at: Mapped[datetime | None] = mapped_column(Timestamp)
    abandoned_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    state: Mapped[str] = mapped_column(String(12), server_default="dialed")
    outcome: Mapped[str | None] = mapped_column(String(20))
    agent: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (
        Index("ix_predictive_calls_campaign_id_dialed_at", "campaign_id", "dialed_at"),
        Index("ix_predictive_calls_held", "deadline_at", postgresql_where=text("state = 'held'")),
    )


class CampaignPacing(Base):
    """A predictive campaign's pacing as last worked out (dialer.rules.pacing.decide)."""

    __tablename__ = "campaign_pacing"

    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    mode: Mapped[str] = mapped_column(String(12))  # PREDICTIVE, or PROGRESSIVE when it must not dial ahead
    calls_target: Mapped[int] = mapped_column(Integer)  # calls in flight it may have
    dial_ratio: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(200), server_default="")
    agents_ready: Mapped[int | None] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
