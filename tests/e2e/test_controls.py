"""Campaign controls mid-campaign, and the ongoing-calls figure."""

from tests.e2e.contacts import all_in, contacts, statuses
from tests.e2e.fleet import wait_until


def test_stop_start_and_purge_mid_campaign(fleet, engine, switch_sim):
    batch = contacts("c1", 40)
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: "ended" in statuses(engine, ids).values(), message="the campaign to be under way")

    stopped = fleet.post("/campaigns/c1/stop", {})
    assert stopped.status_code == 200 and stopped.json()["changed"] > 0
    wait_until(lambda: not ({"queued", "dialed"} & set(statuses(engine, ids).values())),
               message="calls in flight to finish")
    dialed_while_stopped = len(switch_sim.originates)
    assert set(statuses(engine, ids).values()) <= {"ended", "stopped"}
    assert fleet.get("/campaigns/c1").json()["state"] == "stopped"

    started = fleet.post("/campaigns/c1/start", {})
    assert started.json()["changed"] == stopped.json()["changed"]
    wait_until(lambda: len(switch_sim.originates) > dialed_while_stopped, message="dialing to resume")

    purged = fleet.post("/campaigns/c1/purge", {})
    assert purged.status_code == 200
    wait_until(lambda: all_in(engine, ids, ("ended", "removed")), message="every contact ended or removed")
    assert list(statuses(engine, ids).values()).count("removed") == purged.json()["changed"]


def test_ongoing_calls_report_occupied_slots_and_capacity(fleet):
    body = fleet.get("/calls/ongoing").json()
    assert body["capacity"] == 10 and body["occupied"] == 0 and body["ongoing"] == 0
