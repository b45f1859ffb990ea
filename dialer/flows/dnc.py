"""Do-not-call lists in `dnc_numbers`: the global list (campaign_id '') and one per campaign.

Numbers here are E.164 already (dialer.rules.dnc.normalise); a campaign_id of None means the global
list. Nothing here commits except `import_numbers`, which stores a file batch by batch.
"""

import csv
from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import String

from dialer.adapters.db import transaction
from dialer.adapters.models import DncNumber
from dialer.rules.dnc import normalise
from dialer.rules.numbers import InvalidNumber

GLOBAL = ""  # the campaign_id of the global list in the table
BATCH = 5000  # numbers per transaction when importing a file

_ADD = text("""
    INSERT INTO dnc_numbers (number, campaign_id, reason)
    SELECT DISTINCT number, :campaign_id, :reason FROM unnest(:numbers) AS number
    ON CONFLICT DO NOTHING
""").bindparams(bindparam("numbers", type_=ARRAY(String)))

# Pairs in, the blocked ones out: two primary-key probes per distinct pair, one round trip.
_BLOCKED = text("""
    SELECT p.number, p.campaign_id
    FROM unnest(:numbers, :campaign_ids) AS p(number, campaign_id)
    WHERE EXISTS (SELECT 1 FROM dnc_numbers d
                  WHERE d.number = p.number AND d.campaign_id IN ('', p.campaign_id))
""").bindparams(bindparam("numbers", type_=ARRAY(String)), bindparam("campaign_ids", type_=ARRAY(String)))


def add_numbers(session, numbers, campaign_id=None, reason=""):
    """Put `numbers` on a list; those already on it keep their reason and date. Returns how many were new."""
    if not numbers:
        return 0
    result = session.execute(_ADD, {"numbers": list(numbers), "campaign_id": _list_key(campaign_id),
                                    "reason": reason})
    return result.rowcount


def remove_number(session, number, campaign_id=None):
    """Take `number` off one list (the global one by default, never every list). Returns rows removed."""
    result = session.execute(delete(DncNumber).where(DncNumber.number == number,
                                                     DncNumber.campaign_id == _list_key(campaign_id)))
    return result.rowcount


def lookup(session, number):
    """`{"number", "blocked", "lists": [{"campaign_id": None|id, "since", "reason"}]}`, global list first."""
    entries = session.execute(select(DncNumber.campaign_id, DncNumber.created_at, DncNumber.reason)
                              .where(DncNumber.number == number).order_by(DncNumber.campaign_id)).all()
    lists = [{"campaign_id": campaign_id or None, "since": _iso(since), "reason": reason}
             for campaign_id, since, reason in entries]
    return {"number": number, "blocked": bool(lists), "lists": lists}


def blocked_pairs(session, pairs):
    """Of the (E.164 number, campaign_id) pairs, those on the global list or on that campaign's list.

    One statement whatever the number of pairs, for intake and the claim.
    """
    wanted = {(number, campaign_id) for number, campaign_id in pairs}
    if not wanted:
        return set()
    numbers, campaign_ids = zip(*((n, _list_key(c)) for n, c in wanted), strict=True)
    rows = session.execute(_BLOCKED, {"numbers": list(numbers), "campaign_ids": list(campaign_ids)})
    blocked = {(number, campaign_id or None) for number, campaign_id in rows}
    return {(number, campaign_id) for number, campaign_id in wanted
            if (number, campaign_id or None) in blocked}


def export_numbers(session, campaign_id=None, every_list=False):
    """(number, campaign_id None|id, reason, since ISO-8601) rows of one list, or of every list, by number."""
    query = select(DncNumber.number, DncNumber.campaign_id, DncNumber.reason, DncNumber.created_at)
    if not every_list:
        query = query.where(DncNumber.campaign_id == _list_key(campaign_id))
    query = query.order_by(DncNumber.number, DncNumber.campaign_id).execution_options(yield_per=BATCH)
    for number, list_key, reason, since in session.execute(query):
        yield number, list_key or None, reason, _iso(since)


class DncFileError(ValueError):
    """The file as a whole cannot be read; nothing of it was stored."""


@dataclass
class ImportSummary:
    added: int = 0
    already_listed: int = 0  # on the list before, or earlier in the same file
    rejected: list = field(default_factory=list)  # (line number, reason) in file order


def import_numbers(sessions, path, campaign_id=None, reason="", default_region="US", progress=None):
    """Store the numbers of a file (one per line, or CSV with the number first; a header line is
    allowed, blank lines are skipped) on a list, BATCH per transaction. Bad rows are reported by
    line, the good ones stored all the same. `progress(done, total)` is called as rows are read."""
    total = _count_rows(path)
    summary, batch, done = ImportSummary(), [], 0
    if progress:
        progress(done, total)
    for line, value in _numbers_in(path):
        try:
            batch.append(normalise(value, default_region))
        except InvalidNumber as exc:
            summary.rejected.append((line, str(exc)))
        done += 1
        if len(batch) >= BATCH:
            _store(sessions, batch, campaign_id, reason, summary)
            batch = []
            if progress:
                progress(done, total)
    _store(sessions, batch, campaign_id, reason, summary)
    if progress:
        progress(done, total)
    return summary


def _store(sessions, numbers, campaign_id, reason, summary):
    if not numbers:
        return
    with transaction(sessions) as session:
        added = add_numbers(session, numbers, campaign_id, reason)
    summary.added += added
    summary.already_listed += len(numbers) - added


def _count_rows(path):
    """Rows with a number; reading the whole file first also means an unreadable file stores
    nothing rather than half of itself."""
    try:
        return sum(1 for _ in _numbers_in(path))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DncFileError(f"not a UTF-8 text or CSV file: {exc}") from exc


def _numbers_in(path):
    """(line number, first cell) of each non-blank row; a first row with no digit is a header."""
    with open(path, newline="", encoding="utf-8-sig") as source:
        reader = csv.reader(source)
        first = True
        for row in reader:
            value = row[0].strip() if row else ""
            if not value and not any(cell.strip() for cell in row):
                continue
            if first and not any(char.isdigit() for char in value):
                first = False
                continue
            first = False
            yield reader.line_num, value


def _list_key(campaign_id):
    return GLOBAL if campaign_id is None else campaign_id


def _iso(moment):
    return moment.astimezone(UTC).isoformat()
