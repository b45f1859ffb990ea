"""store_contacts on a real PostgreSQL: idempotent, batched, in the caller's transaction."""

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from dialer.adapters.models import Campaign, Contact
from dialer.flows.contact_store import _copy, _copy_text
from dialer.flows.intake import parse_contact, parse_contacts, store_contacts
from tests.contact_payloads import flat, flat_contacts, spec_example

# Every test runs on both paths: a multi-row INSERT (few rows) and COPY through the staging table.
PATHS = pytest.mark.parametrize("copy_above", [10_000, 0], ids=["insert", "copy"])


def count(session):
    return session.scalar(select(func.count()).select_from(Contact))


@PATHS
def test_rows_in_several_batches_are_all_stored_and_counted(session, copy_above):
    result = store_contacts(session, parse_contacts(flat_contacts(25)), batch_size=10, copy_above=copy_above)
    session.commit()
    assert (result.created, result.existing, count(session)) == (25, 0, 25)


@PATHS
def test_two_calls_in_one_transaction_store_both_sets(session, copy_above):
    first = store_contacts(session, parse_contacts(flat_contacts(3)), copy_above=copy_above)
    second = store_contacts(session, parse_contacts(flat_contacts(4)), copy_above=copy_above)
    session.commit()
    assert (first.created, second.created, count(session)) == (3, 4, 7)


@PATHS
def test_nothing_is_stored_when_the_caller_rolls_back(session, copy_above):
    store_contacts(session, parse_contacts(flat_contacts(3)), copy_above=copy_above)
    session.rollback()
    assert count(session) == 0
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


@PATHS
def test_the_same_id_twice_keeps_the_first_row_and_reports_the_duplicate(session, copy_above):
    rows = [parse_contact(flat(id="a", priority=1)), parse_contact(flat(id="a", priority=9))]
    result = store_contacts(session, rows, copy_above=copy_above)
    session.commit()
    assert (result.created, result.existing, result.duplicates, result.created_ids) == (1, 0, 1, {"a"})
    assert session.get(Contact, "a").priority == 1


@PATHS
def test_a_stored_id_is_existing_and_left_unchanged(session, copy_above):
    store_contacts(session, [parse_contact(flat(id="a", customer_number="1001"))], copy_above=copy_above)
    session.commit()
    again = [parse_contact(flat(id="a", customer_number="2002"))]
    result = store_contacts(session, again, copy_above=copy_above)
    session.commit()
    assert (result.created, result.existing) == (0, 1)
    assert session.get(Contact, "a").customer_number == "1001"


@PATHS
def test_a_contact_of_a_stopped_campaign_is_stored_stopped(session, copy_above):
    session.add(Campaign(id="paused", state="stopped"))
    session.commit()
    rows = parse_contacts([flat(id="a", campaign_id="paused"), flat(id="b")])
    store_contacts(session, rows, copy_above=copy_above)
    session.commit()
    assert (session.get(Contact, "a").status, session.get(Contact, "b").status) == ("stopped", "pending")


@PATHS
def test_payload_text_with_tabs_newlines_and_backslashes_is_stored_exactly(session, copy_above):
    payload = spec_example()
    payload["body"]["markdownText"] = "line\tone\nline\\two\r\\N ünïcode"
    store_contacts(session, [parse_contact(payload)], copy_above=copy_above)
    session.commit()
    assert session.get(Contact, payload["id"]).payload == payload


@PATHS
def test_absent_values_are_stored_as_null(session, copy_above):
    rows = [parse_contact(flat(id="a", ivr=None, scheduled_time=None))]
    store_contacts(session, rows, copy_above=copy_above)
    session.commit()
    contact = session.get(Contact, "a")
    assert (contact.ivr, contact.scheduled_time, contact.dialing_mode) == (None, None, None)


def test_a_connection_lost_during_the_copy_is_an_operational_error(engine, session_factory):
    victim = engine.raw_connection()
    try:
        pid = victim.cursor().connection.get_backend_pid()
        with engine.connect() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError):
            _copy(victim.cursor(), _copy_text([parse_contact(flat())], set()))
    finally:
        victim.invalidate()


def test_contacts_of_one_bulk_are_received_in_the_order_they_were_sent(session):
    from sqlalchemy import select

    from dialer.adapters.models import Contact
    from dialer.flows.contact_store import store_contacts
    from dialer.flows.intake import parse_contacts
    from tests.contact_payloads import flat

    sent = [flat(id=f"z{9 - index}") for index in range(5)]  # ids sort against the sending order
    store_contacts(session, parse_contacts(sent))
    stored = session.execute(select(Contact.id).order_by(Contact.received_time)).scalars().all()
    assert stored == [c["id"] for c in sent]
