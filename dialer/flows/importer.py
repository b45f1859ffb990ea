"""Importing contacts from a file (`dialer import`): valid rows are stored in batches, bad ones reported."""

import csv
import json
from dataclasses import dataclass, field

from marshmallow import ValidationError
from tqdm import tqdm

from dialer.adapters.db import transaction
from dialer.flows.intake import error_fields, parse_contact, store_contacts
from dialer.rules.contact_schema import FLAT_COLUMNS

TOO_MANY_CELLS = "more cells than the header has columns"


class ImportFileError(ValueError):
    """The file as a whole cannot be read as contacts; the message says why."""


@dataclass
class ImportSummary:
    stored: int = 0
    existing: int = 0  # already in the store, or earlier in the same file
    rejected: list = field(default_factory=list)  # (where, {field: [reason]}) in file order


def import_file(session_factory, path, file_format, batch_size=5000, region="US"):
    """Validate every contact of the file; store the valid ones, `batch_size` per transaction."""
    total, items = _csv_items(path) if file_format == "csv" else _json_items(path)
    summary = ImportSummary()
    batch = []
    with tqdm(total=total, unit="contact", disable=None) as bar:
        for where, item in items:
            try:
                batch.append(_parse(item))
            except ValidationError as exc:
                summary.rejected.append((where, error_fields(exc.messages)))
            if len(batch) >= batch_size:
                _store(session_factory, batch, summary, region)
                batch = []
            bar.update(1)
        _store(session_factory, batch, summary, region)
    return summary


def _parse(item):
    if isinstance(item, dict) and None in item:  # csv.DictReader puts surplus cells under None
        raise ValidationError({"_schema": [TOO_MANY_CELLS]})
    return parse_contact(item)


def _store(session_factory, rows, summary, region):
    if not rows:
        return
    with transaction(session_factory) as session:
        result = store_contacts(session, rows, region=region)
    summary.stored += result.created
    summary.existing += result.existing + result.duplicates


def _csv_items(path):
    """(number of records, iterator of ("line N", row)); empty cells are absent values."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as source:
            records = csv.reader(source)
            header = next(records, [])
            total = sum(1 for _ in records)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ImportFileError(f"not a UTF-8 CSV file: {exc}") from exc
    unknown = [name for name in header if name not in FLAT_COLUMNS]
    if unknown:
        raise ImportFileError(f"unknown CSV columns: {', '.join(unknown)}; the header takes the contact "
                              f"table's column names: {', '.join(FLAT_COLUMNS)}")
    return total, _csv_rows(path)


def _csv_rows(path):
    with open(path, newline="", encoding="utf-8-sig") as source:
        reader = csv.DictReader(source)
        for row in reader:
            yield f"line {reader.line_num}", row


def _json_items(path):
    try:
        with open(path, encoding="utf-8-sig") as source:
            items = json.load(source)
    except ValueError as exc:
        raise ImportFileError(f"not valid JSON: {exc}") from exc
    if not isinstance(items, list):
        raise ImportFileError("a JSON file must hold a list of contacts")
    return len(items), ((f"index {index}", item) for index, item in enumerate(items))
