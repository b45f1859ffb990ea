"""Storing contact rows: idempotent, all in the caller's transaction, fast enough for bulk intake.

A few rows go in with one multi-row `INSERT ... ON CONFLICT (id) DO NOTHING RETURNING id`. Many rows
are copied (`COPY ... FROM STDIN`) into a temporary staging table and moved with one
`INSERT ... SELECT ... ON CONFLICT (id) DO NOTHING RETURNING id` per batch: about five times faster
than `INSERT ... VALUES`, whose parse and plan dominate at 10,000 rows.
"""

import io
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import psycopg2
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from dialer.adapters.models import Campaign, Contact
from dialer.config import VcPaths
from dialer.flows.dnc import blocked_pairs
from dialer.flows.outbox import add_messages, message
from dialer.flows.windows import note_pairs
from dialer.rules import vc_messages
from dialer.rules.calling_hours import zone_key_for
from dialer.rules.numbers import as_e164, parsed_or_none
from dialer.rules.states import CAMPAIGN_STOPPED, FAILED, PENDING, STOPPED

DNC = "DNC"  # the call_result of a contact whose number is on a do-not-call list

ROW_KEYS = ("id", "customer_number", "campaign_type", "gateway_id", "status", "campaign_contact_id",
            "campaign_id", "start_time", "end_time", "priority", "ivr", "dialing_mode", "routing_mode",
            "resource_id", "queue_name", "scheduled_time", "service_identifier", "customer_ref", "payload",
            "dial_after", "timezone", "zone_key", "e164", "call_result")
STORED_KEYS = (*ROW_KEYS, "received_time")  # received_time is set here, at storing
log = logging.getLogger(__name__)
_COLUMNS = ", ".join(STORED_KEYS)
_STATUS = STORED_KEYS.index("status")
# ON COMMIT DELETE ROWS: the table lives as long as the connection and empties at each commit, so a
# pooled connection creates it once, not once per request.
_CREATE_STAGING = text(f"CREATE TEMPORARY TABLE IF NOT EXISTS contact_intake ON COMMIT DELETE ROWS AS "
                       f"SELECT {_COLUMNS} FROM contacts WITH NO DATA")
_MOVE = text(f"INSERT INTO contacts ({_COLUMNS}) SELECT {_COLUMNS} FROM contact_intake ORDER BY id "
             f"ON CONFLICT (id) DO NOTHING RETURNING id")
_EMPTY_STAGING = text("DELETE FROM contact_intake")


@dataclass(frozen=True)
class StoreResult:
    created: int
    existing: int
    duplicates: int = 0  # rows whose id came more than once in one call (counted once)
    created_ids: frozenset = field(default_factory=frozenset)


def store_contacts(session, rows, batch_size=5000, copy_above=100, region="US", vc_paths=None):
    """Insert the rows whose id is not stored yet; a stored id is left as it is. The caller commits.

    Campaigns are created on the fly; a contact of a stopped campaign arrives `stopped`. Campaign rows
    are share-locked, so a concurrent stop (which updates the campaign row first) either sees these
    contacts or is seen by them. Rows go in id order, so overlapping concurrent calls cannot deadlock.
    More than `copy_above` rows go through COPY, `batch_size` at a time.

    Campaign policy at intake: each number in E.164 (numbers without a country code are `region`'s)
    and its time zones, worked out once here; a number on a do-not-call list arrives `failed` with
    result DNC, reported to the VC (at `vc_paths`) like any result.
    """
    unique = {}
    received = datetime.now(UTC)
    for position, row in enumerate(rows):
        # A microsecond apart in request order: FIFO within a bulk follows the order it was sent in.
        unique.setdefault(row["id"], {**row, "received_time": received + timedelta(microseconds=position)})
    if not unique:
        return StoreResult(created=0, existing=0)
    _number_and_zones(unique.values(), region)
    campaign_ids = sorted({row["campaign_id"] for row in unique.values()})
    stopped = _lock_campaigns(session, campaign_ids)
    blocked = _mark_blocked(session, unique.values())
    if len(unique) > copy_above:
        created = _copy_and_move(session, list(unique.values()), stopped, batch_size)
    else:
        created = _insert(session, [unique[key] for key in sorted(unique)], stopped)
    note_pairs(session, {(row["campaign_id"], row["zone_key"]) for key, row in unique.items() if key in created})
    _report_blocked(session, [unique[key] for key in sorted(blocked & created)], vc_paths or VcPaths())
    result = StoreResult(created=len(created), existing=len(unique) - len(created),
                         duplicates=len(rows) - len(unique), created_ids=frozenset(created))
    shown = ",".join(campaign_ids[:10]) + (",..." if len(campaign_ids) > 10 else "")
    log.info("event=contacts_stored rows=%d created=%d existing=%d campaign_ids=%s",
             len(rows), result.created, result.existing, shown)
    return result


def _number_and_zones(rows, region):
    """E.164 and zones from one parse of each number (parsing is most of the cost)."""
    for row in rows:
        parsed = parsed_or_none(row["customer_number"], region)
        row["e164"] = as_e164(parsed) if parsed is not None else None
        row["zone_key"] = zone_key_for(row.get("timezone"), parsed)


def _mark_blocked(session, rows):
    """Rows whose number is on the global or their campaign's DNC list: failed DNC, never dialed."""
    pairs = {(row["e164"], row["campaign_id"]) for row in rows if row["e164"]}
    listed = blocked_pairs(session, pairs) if pairs else set()
    blocked = set()
    for row in rows:
        if (row["e164"], row["campaign_id"]) in listed and row.get("status") == PENDING:
            row.update(status=FAILED, call_result=DNC)
            blocked.add(row["id"])
    if blocked:
        log.info("event=dnc_blocked_at_intake contacts=%d", len(blocked))
    return blocked


def _report_blocked(session, rows, vc_paths):
    """The VC hears of a contact kept from dialing by a DNC list as of any other result."""
    if not rows:
        return
    add_messages(session, [
        message(row["id"], "call_result", vc_paths.call_result, vc_messages.call_result(_as_contact(row)))
        for row in rows])


def _as_contact(row):
    """What vc_messages reads of a contact, for a row not read back from the database."""
    values = dict.fromkeys(("call_uuid", "agent", "agent_queue", "billsec", "dial_time", "answer_time",
                            "hangup_time", "disposition"))
    values.update({key: row.get(key) for key in ROW_KEYS}, attempts=0)
    return SimpleNamespace(**values)


def _insert(session, rows, stopped_campaigns):
    contacts = Contact.__table__
    values = [{**row, "status": STOPPED} if _stops(row, stopped_campaigns) else row for row in rows]
    return set(session.scalars(
        insert(contacts).values(values).on_conflict_do_nothing(index_elements=["id"]).returning(contacts.c.id)))


def _copy_and_move(session, rows, stopped_campaigns, batch_size):
    """Each batch: empty the staging table (it may hold an earlier batch of this transaction), copy, move."""
    session.execute(_CREATE_STAGING)
    cursor = session.connection().connection.cursor()
    created = set()
    try:
        for start in range(0, len(rows), batch_size):
            session.execute(_EMPTY_STAGING)
            _copy(cursor, _copy_text(rows[start:start + batch_size], stopped_campaigns))
            created.update(session.scalars(_MOVE))  # in id order: see store_contacts
    finally:
        cursor.close()
    return created


def _copy(cursor, source):
    """COPY through the driver's cursor; its errors are wrapped as SQLAlchemy's, like any other statement's
    (so a dropped connection is an OperationalError: 503 in the API, a retry in a worker)."""
    statement = f"COPY contact_intake ({_COLUMNS}) FROM STDIN"
    try:
        cursor.copy_expert(statement, source)
    except psycopg2.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg2.Error) from exc


def _lock_campaigns(session, campaign_ids):
    """Create the campaigns that are new, share-lock all of them, return the ids of stopped ones."""
    campaigns = Campaign.__table__
    session.execute(insert(campaigns).values([{"id": c} for c in campaign_ids]).on_conflict_do_nothing())
    states = session.execute(
        select(campaigns.c.id, campaigns.c.state).where(campaigns.c.id.in_(campaign_ids))
        .order_by(campaigns.c.id).with_for_update(read=True))
    return {campaign_id for campaign_id, state in states if state == CAMPAIGN_STOPPED}


def _copy_text(rows, stopped_campaigns):
    """Rows in COPY's text format: tab-separated, \\N for NULL, backslash escapes."""
    lines = []
    for row in rows:
        values = [_copy_value(row.get(key)) for key in STORED_KEYS]
        if _stops(row, stopped_campaigns):
            values[_STATUS] = STOPPED
        lines.append("\t".join(values))
    lines.append("")
    return io.StringIO("\n".join(lines))


def _stops(row, stopped_campaigns):
    """A pending contact of a stopped campaign arrives stopped (a DNC one stays failed)."""
    return row["campaign_id"] in stopped_campaigns and row["status"] == PENDING


def _copy_value(value):
    if value is None:
        return r"\N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    value = str(value)
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value
