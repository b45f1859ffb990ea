"""expire_contacts: pending contacts whose dialing window has closed → failed (EXPIRED)."""

from datetime import UTC, datetime, timedelta

from dialer.flows.expire import EXPIRED, expire_contacts
from dialer.rules import states
from tests.calls import contact, snapshot
from tests.factories import add_contacts


def closed_window():
    now = datetime.now(UTC)
    return dict(start_time=now - timedelta(hours=2), end_time=now - timedelta(minutes=1))


def test_pending_contacts_past_their_end_time_fail_as_expired(session, session_factory):
    expired = add_contacts(session, "camp-1", 2, **closed_window())

    with session_factory() as sweeping:
        expire_contacts(sweeping)
        sweeping.commit()

    for contact_id in expired:
        failed = contact(session, contact_id)
        assert (failed.status, failed.call_result) == (states.FAILED, EXPIRED)


def test_pending_contacts_within_their_window_are_left_alone(session, session_factory):
    [open_window] = add_contacts(session, "camp-1", 1)
    [not_started] = add_contacts(session, "camp-1", 1, start_time=datetime.now(UTC) + timedelta(hours=1),
                                 end_time=datetime.now(UTC) + timedelta(hours=2))
    before = {cid: snapshot(session, cid) for cid in (open_window, not_started)}

    with session_factory() as sweeping:
        assert expire_contacts(sweeping) == 0
        sweeping.commit()

    assert {cid: snapshot(session, cid) for cid in (open_window, not_started)} == before


def test_contacts_in_other_states_past_their_end_time_are_left_alone(session, session_factory):
    others = [cid for status in (states.QUEUED, states.AGENT_PENDING, states.DIALED, states.STOPPED,
                                 states.ENDED, states.FAILED, states.REMOVED)
              for cid in add_contacts(session, "camp-1", 1, status=status, **closed_window())]
    before = {cid: snapshot(session, cid) for cid in others}

    with session_factory() as sweeping:
        assert expire_contacts(sweeping) == 0
        sweeping.commit()

    assert {cid: snapshot(session, cid) for cid in others} == before


def test_expire_returns_how_many_contacts_it_changed(session, session_factory):
    add_contacts(session, "camp-1", 3, **closed_window())
    add_contacts(session, "camp-2", 2, **closed_window())
    add_contacts(session, "camp-1", 4)
    add_contacts(session, "camp-1", 1, status=states.STOPPED, **closed_window())

    with session_factory() as sweeping:
        assert expire_contacts(sweeping) == 5
        sweeping.commit()
    with session_factory() as again:
        assert expire_contacts(again) == 0
