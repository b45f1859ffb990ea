"""Campaign policy where the dial decision is made: the claim never takes a contact outside its
calling window, on a do-not-call list or past the per-number cap; intake keeps listed numbers from
ever being dialed; a settings change applies to the next claim (real PostgreSQL)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from dialer.adapters.models import CallAttempt, Contact, OutboxMessage
from dialer.config import SwitchConfig
from dialer.flows import dialing
from dialer.flows.allocator import allocate
from dialer.flows.dnc import add_numbers
from dialer.flows.intake import parse_contact, store_contacts
from dialer.flows.policy_store import save_settings
from dialer.rules import states
from tests.contact_payloads import flat

SWITCHES = (SwitchConfig("sw1", "127.0.0.1", 8021, "pw", capacity=50, cps=1000),)
NEW_YORK = "America/New_York"
ALL_DAY = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def intake(session, campaign_id, numbers, **fields):
    now = datetime.now(UTC)
    rows = [parse_contact(flat(id=f"{campaign_id}-{i}", campaign_id=campaign_id, customer_number=number,
                               start_time=(now - timedelta(hours=1)).isoformat(),
                               end_time=(now + timedelta(days=3)).isoformat(), scheduled_time=None, **fields))
            for i, number in enumerate(numbers)]
    store_contacts(session, rows, region="US")
    session.commit()
    return [row["id"] for row in rows]


def closed_today():
    """Calling hours open all day but on today's and tomorrow's local date (never open right now)."""
    today = datetime.now(ZoneInfo(NEW_YORK)).date()
    return {"calling_hours": ALL_DAY, "blocked_dates": [today.isoformat(), (today + timedelta(days=1)).isoformat()]}


def claimed(session):
    result = allocate(session, SWITCHES)
    session.commit()
    return sorted(c.contact_id for c in result.claims)


def status_of(session, contact_id):
    return session.scalar(select(Contact.status).where(Contact.id == contact_id))


def test_the_claim_never_takes_a_contact_outside_its_calling_window(session):
    save_settings(session, "closed", closed_today())
    save_settings(session, "open", {"calling_hours": ALL_DAY})
    session.commit()
    intake(session, "closed", ["+12125550100", "+12125550101"], timezone=NEW_YORK)
    opened = intake(session, "open", ["+12125550102"], timezone=NEW_YORK)

    assert claimed(session) == opened
    assert claimed(session) == []


def test_a_settings_change_applies_to_the_next_claim(session):
    save_settings(session, "camp", closed_today())
    session.commit()
    ids = intake(session, "camp", ["+12125550110", "+12125550111"], timezone=NEW_YORK)
    assert claimed(session) == []

    save_settings(session, "camp", {"calling_hours": ALL_DAY})
    session.commit()

    assert claimed(session) == sorted(ids)


def test_a_contact_zone_comes_from_its_number_when_it_has_no_timezone(session):
    save_settings(session, "camp", {"calling_hours": ALL_DAY, "blocked_dates": closed_today()["blocked_dates"]})
    session.commit()
    [new_york] = intake(session, "camp", ["+12125550120"])  # a New York number: its local date is blocked
    row = session.execute(select(Contact.e164, Contact.zone_key).where(Contact.id == new_york)).one()
    assert tuple(row) == ("+12125550120", NEW_YORK)
    assert claimed(session) == []


def test_the_claim_never_takes_a_number_listed_after_intake(session):
    listed, free = intake(session, "camp", ["+12125550130", "+12125550131"])
    add_numbers(session, ["+12125550130"], campaign_id=None, reason="asked not to be called")
    session.commit()

    assert claimed(session) == [free]
    assert status_of(session, listed) == states.PENDING


def test_a_campaign_list_blocks_only_its_own_campaign(session):
    add_numbers(session, ["+12125550140"], campaign_id="a", reason="opt-out")
    session.commit()
    intake(session, "a", ["+12125550140"])
    [in_b] = intake(session, "b", ["+12125550140"])

    assert claimed(session) == [in_b]


def test_a_number_on_a_list_at_intake_is_stored_failed_dnc_and_reported(session):
    add_numbers(session, ["+12125550150"], campaign_id=None, reason="regulator list")
    session.commit()
    [blocked] = intake(session, "camp", ["2125550150"])  # no country code: the default region (US)

    assert session.execute(select(Contact.status, Contact.call_result).where(Contact.id == blocked)).one() == (
        states.FAILED, "DNC")
    [message] = session.scalars(select(OutboxMessage).where(OutboxMessage.contact_id == blocked)).all()
    assert (message.kind, message.body["callResult"], message.body["final"]) == ("call_result", "DNC", True)
    assert claimed(session) == []


def test_the_claim_respects_the_cap_of_calls_per_number_across_campaigns(session):
    save_settings(session, "capped", {"max_calls_per_number_24h": 2})
    session.commit()
    [earlier] = intake(session, "other", ["+12125550160"])
    session.execute(insert(CallAttempt), [
        dict(contact_id=earlier, attempt=n, uuid=f"u-{n}", job_uuid=f"j-{n}", switch_name="sw1", kind="IVR",
             number="+12125550160", disposition="BUSY") for n in (1, 2)])
    session.execute(insert(CallAttempt), [  # refused before reaching the number: not counted
        dict(contact_id=earlier, attempt=3, uuid="u-3", job_uuid="j-3", switch_name="sw1", kind="IVR",
             number="+12125550160", disposition="SWITCH_DOWN")])
    session.commit()
    [capped] = intake(session, "capped", ["+12125550160"])
    session.execute(Contact.__table__.update().where(Contact.id == earlier).values(status=states.ENDED))
    session.commit()

    assert claimed(session) == []
    save_settings(session, "capped", {"max_calls_per_number_24h": 3})
    session.commit()
    assert claimed(session) == [capped]


def test_a_contact_whose_window_closed_while_queued_goes_back_to_pending_undialed(session, rt, switch):
    save_settings(session, "camp", {"calling_hours": ALL_DAY})
    session.commit()
    [contact_id] = intake(session, "camp", ["+12125550170"], timezone=NEW_YORK)
    assert claimed(session) == [contact_id]
    save_settings(session, "camp", closed_today())
    session.commit()
    allocate(session, SWITCHES)  # the beat's tick works the window out again
    session.commit()

    outcome = dialing.dial_ivr_contacts(session, rt.switches.get("sw1"), rt.settings, "sw1", [contact_id])

    assert outcome.outside_window == [contact_id] and outcome.dialed == []
    assert status_of(session, contact_id) == states.PENDING
    assert switch.originates == []


def test_an_attempt_records_its_settings_version_and_number_and_the_caller_id_reaches_the_switch(
        session, rt, switch):
    save_settings(session, "camp", {"max_attempts": 3})
    save_settings(session, "camp", {"caller_id": {"number": "+15551230000", "name": "ACME Sales"}})
    session.commit()
    [contact_id] = intake(session, "camp", ["2125550180"])
    assert claimed(session) == [contact_id]

    outcome = dialing.dial_ivr_contacts(session, rt.switches.get("sw1"), rt.settings, "sw1", [contact_id])

    assert outcome.dialed == [contact_id]
    attempt = session.execute(select(CallAttempt).where(CallAttempt.contact_id == contact_id)).scalar_one()
    assert (attempt.settings_version, attempt.number) == (2, "+12125550180")
    [originate] = switch.originates
    assert originate.variables["origination_caller_id_number"] == "+15551230000"
    assert originate.variables["origination_caller_id_name"] == "ACME Sales"


def test_status_counts_contacts_waiting_for_their_window_or_a_retry_and_blocked_by_dnc(session):
    from dialer.flows.campaigns import campaign_status

    save_settings(session, "camp", closed_today())
    session.commit()
    intake(session, "camp", ["+12125550190", "+12125550191"], timezone=NEW_YORK)
    add_numbers(session, ["+12125550191"], campaign_id="camp", reason="opt-out")
    session.commit()
    claimed(session)

    status = campaign_status(session, "camp")
    assert (status["settings_version"], status["waiting"], status["dnc"]) == (1, {"window": 2, "retry": 0}, 1)
