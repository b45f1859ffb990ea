"""`dialer cdr import`: the CDRs a switch spooled to its err-log-dir when it could not post them."""

from click.testing import CliRunner

from dialer.flows import inbox
from dialer.ops.cli import main
from dialer.rules import states
from tests.calls import contact, dial
from tests.factories import add_contacts
from tests.integration.test_cdr_api import busy_cdr


def spooled(folder, call, **options):
    """The file mod_json_cdr writes: the POST body plus a newline, named a_<uuid>.cdr.json."""
    path = folder / f"a_{call.uuid}.cdr.json"
    path.write_text(busy_cdr(call, **options) + "\n")
    return path


def dialed_calls(session, count):
    ids = add_contacts(session, "camp-1", count, status=states.QUEUED)
    return [dial(session, contact_id) for contact_id in ids]


def run(database_url, *args):
    return CliRunner().invoke(main, ["cdr", "import", *map(str, args)], env={"DATABASE_URL": database_url})


def test_spooled_cdrs_are_recorded_like_posted_ones_and_a_second_import_changes_nothing(
        database_url, session, session_factory, settings, tmp_path):
    first, second = dialed_calls(session, 2)
    spooled(tmp_path, first)
    spooled(tmp_path, second)
    (tmp_path / "notes.txt").write_text("not a CDR")  # other files of the folder are left alone

    result = run(database_url, tmp_path)

    assert result.exit_code == 0, result.output
    assert "2 new, 0 already known, 0 not calls of this dialer, 0 unreadable" in result.output
    with session_factory() as recording:
        inbox.record_pending(recording, settings)
        recording.commit()
    assert [contact(session, c.contact_id).call_result for c in (first, second)] == ["USER_BUSY", "USER_BUSY"]
    again = run(database_url, tmp_path / f"a_{first.uuid}.cdr.json")
    assert "0 new, 1 already known" in again.output


def test_a_file_that_is_not_a_cdr_is_named_with_its_reason_and_the_exit_status_is_one(
        database_url, session, tmp_path):
    [call] = dialed_calls(session, 1)
    good = spooled(tmp_path, call)
    broken = tmp_path / "a_broken.cdr.json"
    broken.write_text("{not json")

    result = run(database_url, good, broken)

    assert result.exit_code == 1
    assert "1 new" in result.output and "1 unreadable" in result.output
    assert str(broken) in result.output


def test_cdrs_of_other_applications_calls_are_counted_and_skipped(database_url, session, tmp_path):
    [call] = dialed_calls(session, 1)

    result = run(database_url, spooled(tmp_path, call, instance="another-dialer"))

    assert result.exit_code == 0
    assert "0 new, 0 already known, 1 not calls of this dialer" in result.output
