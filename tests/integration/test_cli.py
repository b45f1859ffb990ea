"""`dialer import` and `dialer status` through click, on the test database."""

import csv
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select

from dialer.adapters.db import make_engine
from dialer.adapters.models import Campaign, Contact
from dialer.flows.intake import parse_contacts, store_contacts
from dialer.ops.cli import main
from dialer.ops.sessions import database_url
from tests.contact_payloads import SPEC_EXAMPLE, flat

COLUMNS = ("id", "customer_number", "campaign_id", "campaign_type", "gateway_id", "start_time", "end_time",
           "priority", "queue_name")


@pytest.fixture
def run(database_url, session_factory):
    """Invoke the CLI on the (emptied) test database; returns click's Result."""

    def invoke(*args):
        return CliRunner().invoke(main, [str(a) for a in args], env={"DATABASE_URL": database_url})

    return invoke


def write_csv(path, rows, columns=COLUMNS):
    with open(path, "w", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=columns, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def stored_ids(session):
    return set(session.scalars(select(Contact.id)))


def test_importing_a_csv_stores_the_good_rows_and_lists_the_bad_ones_by_line(run, tmp_path, session):
    rows = [flat(id="c-1"), flat(id="c-2", customer_number="555 123"), flat(id="c-3"),
            flat(id="c-4", priority="12", end_time="2029-01-01T00:00:00+00:00")]
    result = run("import", write_csv(tmp_path / "contacts.csv", rows))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "stored: 2",
        "already present: 0",
        "rejected: 2",
        "  line 3: customer_number: not allowed in a switch command: digits only, optionally after a "
        "leading +, at most 20",
        "  line 5: priority: must be a whole number from 1 to 10 (1 is dialed first)",
        "  line 5: end_time: must be later than the start time",
    ]
    assert stored_ids(session) == {"c-1", "c-3"}


def test_importing_the_same_csv_again_stores_nothing_new(run, tmp_path, session):
    path = write_csv(tmp_path / "contacts.csv", [flat(id=f"c-{i}") for i in range(5)])
    assert run("import", path).exit_code == 0
    again = run("import", path, "--batch-size", 2)
    assert again.exit_code == 0
    assert again.stdout.splitlines()[:3] == ["stored: 0", "already present: 5", "rejected: 0"]
    assert len(stored_ids(session)) == 5


def test_importing_a_json_file_takes_both_forms_and_names_bad_ones_by_index(run, tmp_path, session):
    bad = json.loads(json.dumps(SPEC_EXAMPLE))
    bad["id"] = "bad-one"
    bad["header"]["shedulingMetaData"]["routingMode"] = "AGENT"
    bad["header"]["shedulingMetaData"].pop("resourceId")
    path = tmp_path / "contacts.json"
    path.write_text(json.dumps([SPEC_EXAMPLE, flat(id="flat-1"), bad, "not a contact"]))
    result = run("import", path, "--batch-size", 1)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "stored: 2",
        "already present: 0",
        "rejected: 2",
        "  index 2: header.shedulingMetaData.resourceId: routing mode AGENT needs a resource id "
        "(the agent's id)",
        "  index 3: _schema: each contact must be a JSON object",
    ]
    assert stored_ids(session) == {SPEC_EXAMPLE["id"], "flat-1"}


def test_a_csv_with_an_unknown_column_is_refused_before_anything_is_stored(run, tmp_path, session):
    path = write_csv(tmp_path / "contacts.csv", [{"id": "c-1", "phone": "1001"}], columns=("id", "phone"))
    result = run("import", path)
    assert result.exit_code == 1
    assert "unknown CSV columns: phone" in result.output
    assert stored_ids(session) == set()


def test_a_file_with_another_extension_needs_the_format_option(run, tmp_path):
    path = tmp_path / "contacts.txt"
    path.write_text(json.dumps([flat()]))
    assert run("import", path).exit_code == 2
    assert run("import", path, "--format", "json").exit_code == 0


def test_the_import_help_says_that_a_rejected_row_means_exit_status_one(run):
    assert "Exits with status 1 if any contact was rejected" in run("import", "--help").output


def test_status_prints_a_table_of_every_campaign_with_its_counts(run, session):
    session.add(Campaign(id="quiet", state="stopped"))
    session.commit()
    store_contacts(session, parse_contacts([flat(id=f"s-{i}", campaign_id="summer") for i in range(3)]))
    session.commit()
    result = run("status")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "campaign  state    pending  queued  agent_pending  dialed  ended  stopped  failed  removed",
        "quiet     stopped        0       0              0       0      0        0       0        0",
        "summer    running        3       0              0       0      0        0       0        0",
    ]


def test_status_of_one_campaign_prints_only_that_campaign(run, session):
    session.add(Campaign(id="quiet", state="stopped"))
    session.commit()
    lines = run("status", "quiet").stdout.splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["campaign", "quiet"]
    assert lines[2:] == ["settings version 0; waiting for their calling window 0, for a retry 0; blocked by DNC 0"]


def test_status_of_an_unknown_campaign_fails_with_a_message(run):
    result = run("status", "nope")
    assert result.exit_code == 1
    assert "no campaign with id 'nope'" in result.output


def test_a_csv_row_with_more_cells_than_the_header_is_rejected(run, tmp_path, session):
    path = write_csv(tmp_path / "contacts.csv", [flat(id="c-1")])
    with open(path, "a") as target:
        target.write(",".join(str(flat(id="c-2").get(k, "")) for k in COLUMNS) + ",surplus\n")
    result = run("import", path)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "  line 3: _schema: more cells than the header has columns"
    assert stored_ids(session) == {"c-1"}


def test_a_csv_that_is_not_utf_8_is_refused_with_a_message(run, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_bytes(",".join(COLUMNS).encode() + b"\nc-1,\xff\xfe1001\n")
    result = run("import", path)
    assert result.exit_code == 1
    assert "not a UTF-8 CSV file" in result.output


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                    reason="the embedded default is used only without DATABASE_URL")
def test_without_database_url_the_embedded_database_is_used_and_migrated(service_urls):
    env = {"REDIS_URL": service_urls["REDIS_URL"]}
    url = database_url(env)
    assert env["DATABASE_URL"] == url
    engine = make_engine(url)
    try:
        assert {"contacts", "campaigns"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_abandonment_prints_each_predictive_campaign_over_30_days_and_24_hours(run, session):
    from sqlalchemy import insert

    from dialer.adapters.models import PredictiveCall

    now = datetime.now(UTC)
    rows = [("PERSON_CONNECTED", 1), ("PERSON_CONNECTED", 1), ("PERSON_CONNECTED", 1), ("ABANDONED", 1),
            ("ABANDONED", 24 * 5), ("MACHINE", 1), ("NOT_ANSWERED", 1)]  # one abandon 5 days ago
    session.execute(insert(PredictiveCall), [
        {"uuid": f"u-{i}", "contact_id": f"c-{i}", "campaign_id": "pred", "outcome": outcome, "state": "ended",
         "ended_at": now - timedelta(hours=hours)} for i, (outcome, hours) in enumerate(rows)])
    session.commit()

    lines = run("abandonment").stdout.splitlines()

    assert lines[0].startswith("as of ") and "answered by a person" in lines[0]
    assert lines[2].split() == ["pred", "5", "2", "40.00%", "4", "1", "25.00%"]
    assert run("abandonment", "other").stdout.splitlines()[2].split() == ["other", "0", "0", "-", "0", "0", "-"]
