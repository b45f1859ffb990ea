"""Campaign policy end to end (fleet + simulators): retries by disposition, calling hours in the
customer's local time and do-not-call lists, decided where contacts are claimed."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import text

from tests.e2e.contacts import ANSWERED, attempts, contact, rows
from tests.e2e.fleet import wait_until

CALL_RESULT = "/fs-message/call-result"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def put_settings(fleet, campaign_id, settings):
    response = fleet.put(f"/campaigns/{campaign_id}/settings", settings)
    assert response.status_code == 200, response.text
    return response.json()


def results_of(vc_sim, contact_id):
    return [m["body"] for m in vc_sim.messages(path=CALL_RESULT) if m["body"]["callUid"] == contact_id]


def test_a_busy_rule_with_two_retries_dials_each_busy_number_three_times(fleet, engine, switch_sim, vc_sim):
    put_settings(fleet, "retry", {"retries": {"BUSY": {"retries": 2, "after_seconds": 2}}})
    busy = [contact("retry", number=f"2{i:03d}6") for i in range(3)]  # last digit 6: the simulator is busy
    fleet.post_contacts(busy)
    ids = [c["id"] for c in busy]

    wait_until(lambda: all(len(results_of(vc_sim, i)) == 3 for i in ids), timeout=60,
               message="three results for every busy number")

    dialed = Counter(o.variables["dialer_contact_id"] for o in switch_sim.originates)
    assert dialed == Counter({i: 3 for i in ids})
    for contact_id in ids:
        bodies = results_of(vc_sim, contact_id)
        assert [(b["attempt"], b["disposition"], b["final"]) for b in bodies] == [
            (1, "BUSY", False), (2, "BUSY", False), (3, "BUSY", True)]
        tries = sorted(a.created_at for a in attempts(engine) if a.contact_id == contact_id)
        assert all(later - earlier >= timedelta(seconds=2) for earlier, later in pairwise(tries))
    assert {row.status for row in rows(engine, ids).values()} == {"ended"}


def a_zone_in_the_middle_of_its_day():
    """A zone whose local clock is between 01:00 and 22:00, so the next minutes stay on today."""
    for name in ("America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney", "America/Los_Angeles"):
        if 1 <= datetime.now(ZoneInfo(name)).hour <= 21:
            return name
    raise AssertionError("no zone of the list is in the middle of its day")


def test_a_contact_whose_window_opens_soon_is_dialed_after_it_opens_not_before(fleet, engine, switch_sim):
    zone = a_zone_in_the_middle_of_its_day()
    local = datetime.now(ZoneInfo(zone))
    opens = (local + timedelta(minutes=1 if local.second < 50 else 2)).replace(second=0, microsecond=0)
    put_settings(fleet, "later", {"calling_hours": {day: [opens.strftime("%H:%M"), "24:00"] for day in DAYS}})
    waiting = contact("later", number=ANSWERED, timezone=zone)
    fleet.post_contacts([waiting])

    wait_until(lambda: rows(engine, [waiting["id"]])[waiting["id"]].status == "ended", timeout=150,
               message="the contact to be dialed once its window opened")

    [attempt] = [a for a in attempts(engine) if a.contact_id == waiting["id"]]
    assert attempt.created_at >= opens.astimezone(UTC)
    assert fleet.get("/campaigns/later").json()["settings_version"] == 1


def test_a_number_put_on_the_do_not_call_list_mid_campaign_is_never_dialed_again(fleet, engine, switch_sim):
    put_settings(fleet, "dnc", {"retries": {"BUSY": {"retries": 5, "after_seconds": 2}}})
    listed = contact("dnc", number="30016")
    fleet.post_contacts([listed])
    wait_until(lambda: (row := rows(engine, [listed["id"]])[listed["id"]]).status == "pending"
               and row.disposition == "BUSY", timeout=30, message="the first busy attempt and its retry")

    response = fleet.post("/dnc", {"numbers": ["30016"], "campaign_id": None, "reason": "asked by phone"})
    assert response.status_code == 200, response.text
    retry_at = rows(engine, [listed["id"]])[listed["id"]].dial_after

    def past_the_retry_time_by(seconds):
        with engine.connect() as connection:
            return connection.execute(text("SELECT clock_timestamp()")).scalar_one() > retry_at + timedelta(
                seconds=seconds)

    wait_until(lambda: past_the_retry_time_by(4), timeout=30, message="four seconds past the retry time")
    assert [o.variables["dialer_contact_id"] for o in switch_sim.originates] == [listed["id"]]
    assert rows(engine, [listed["id"]])[listed["id"]].status == "pending"
    assert fleet.get("/campaigns/dnc").json()["dnc"] == 1
