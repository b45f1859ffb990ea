"""`dialer dnc import` and `dialer dnc export` through click, on the test database."""

import csv
import io

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dialer.adapters.models import DncNumber
from dialer.flows.dnc import add_numbers
from dialer.ops.cli import main


@pytest.fixture
def run(database_url, session_factory):
    """Invoke the CLI on the (emptied) test database, numbers read as US ones; returns click's Result."""

    def invoke(*args):
        env = {"DATABASE_URL": database_url, "DIALER_DEFAULT_REGION": "US"}
        return CliRunner().invoke(main, [str(a) for a in args], env=env)

    return invoke


def listed(session):
    return {tuple(row) for row in session.execute(select(DncNumber.number, DncNumber.campaign_id,
                                                         DncNumber.reason))}


def test_importing_stores_the_good_rows_and_lists_the_bad_ones_by_line(run, tmp_path, session):
    add_numbers(session, ["+12125550003"], campaign_id="camp-a")
    session.commit()
    source = tmp_path / "dnc.csv"
    source.write_text("phone,note\n"
                      "+1 (212) 555-0101,asked\n"
                      "\n"
                      "not a number,typo\n"
                      "2125550101\n"
                      "212 555 0003\n"
                      ",no number here\n")
    result = run("dnc", "import", source, "--campaign", "camp-a", "--reason", "complaint")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "added: 1",
        "already listed: 2",
        "rejected: 2",
        "  line 4: not a phone number: (1) The string supplied did not seem to be a phone number.",
        "  line 7: not a phone number: (1) The string supplied did not seem to be a phone number.",
    ]
    assert listed(session) == {("+12125550101", "camp-a", "complaint"), ("+12125550003", "camp-a", "")}


def test_a_file_of_good_numbers_one_per_line_goes_on_the_global_list_and_exits_0(run, tmp_path, session):
    source = tmp_path / "dnc.txt"
    source.write_text("2125550101\n+44 20 7946 0958\n")
    result = run("dnc", "import", source)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == ["added: 2", "already listed: 0", "rejected: 0"]
    assert listed(session) == {("+12125550101", "", ""), ("+442079460958", "", "")}


def test_a_bad_campaign_id_is_refused_before_anything_is_read(run, tmp_path, session):
    source = tmp_path / "dnc.txt"
    source.write_text("2125550101\n")
    result = run("dnc", "import", source, "--campaign", "bad id;")
    assert result.exit_code == 1
    assert "--campaign: must be null (the global list) or a campaign id" in result.output
    assert listed(session) == set()


def test_a_file_that_is_not_text_is_refused_and_nothing_is_stored(run, tmp_path, session):
    source = tmp_path / "dnc.bin"
    source.write_bytes(b"2125550101\n\xff\xfe\x00\x81\n")
    result = run("dnc", "import", source)
    assert result.exit_code == 1
    assert "not a UTF-8 text or CSV file" in result.output
    assert listed(session) == set()


def test_an_export_imported_again_gives_the_same_list(run, tmp_path, session):
    add_numbers(session, ["+12125550102", "+12125550101"], campaign_id="camp-a", reason="asked")
    add_numbers(session, ["+12125550109"], reason="everyone")
    session.commit()
    exported = tmp_path / "camp-a.csv"
    assert run("dnc", "export", "--campaign", "camp-a", "--output", exported).exit_code == 0
    rows = list(csv.reader(io.StringIO(exported.read_text())))
    assert rows[0] == ["number", "campaign_id", "reason", "since"]
    assert [row[:3] for row in rows[1:]] == [["+12125550101", "camp-a", "asked"],
                                             ["+12125550102", "camp-a", "asked"]]
    imported = run("dnc", "import", exported, "--campaign", "camp-b", "--reason", "asked")
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.splitlines()[:3] == ["added: 2", "already listed: 0", "rejected: 0"]
    assert {row for row in listed(session) if row[1] == "camp-b"} == {("+12125550101", "camp-b", "asked"),
                                                                      ("+12125550102", "camp-b", "asked")}


def test_export_writes_the_global_list_by_default_and_every_list_when_asked(run, session):
    add_numbers(session, ["+12125550101"], campaign_id="camp-a")
    add_numbers(session, ["+12125550101", "+12125550100"])
    session.commit()
    by_default = run("dnc", "export")
    assert [line.split(",")[:2] for line in by_default.stdout.splitlines()[1:]] == [
        ["+12125550100", ""], ["+12125550101", ""]]
    every = run("dnc", "export", "--all-lists")
    assert [line.split(",")[:2] for line in every.stdout.splitlines()[1:]] == [
        ["+12125550100", ""], ["+12125550101", ""], ["+12125550101", "camp-a"]]


def test_a_file_larger_than_one_batch_is_stored_whole_around_a_bad_row(run, tmp_path, session):
    numbers = [f"+1212{n:07d}" for n in range(12_000)]
    source = tmp_path / "dnc.txt"
    source.write_text("\n".join([*numbers[:7000], "12ab", *numbers[7000:]]) + "\n")
    result = run("dnc", "import", source)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == ["added: 12000", "already listed: 0", "rejected: 1"]
    assert result.stdout.splitlines()[3].startswith("  line 7001: ")
    assert {row[0] for row in listed(session)} == set(numbers)
