"""The VC simulator's agents for predictive dialing: the agents query, the at-once "no agent", one call per
agent, and the per-agent report a benchmark computes occupancy from."""

import threading
import uuid
from contextlib import contextmanager

import pytest
import requests

from sim.connector import ConnectorSimulator, paths
from sim.connector import testing as vc_testing
from sim.connector.__main__ import parse_args
from sim.connector.agents import AgentPool
from sim.testing import wait_for

fake_dialer = vc_testing.fake_dialer  # bound by assignment: an import would read as shadowed by the arguments

QUEUE = "Voice Queue"


def details(uid):
    return {"callingNumber": "2001", "queue": QUEUE, "queueType": "NAME", "callUid": uid, "eslHost": "",
            "serviceIdentifier": "1218", "direction": "OUTBOUND"}


@contextmanager
def simulator(dialer_url, **options):
    settings = {"port": 0, "dialer_token": vc_testing.CONNECTOR_TOKEN, "delay": 0.02, "agents": 3,
                "wrap_up": 0.05, "seed": 5, **options}
    with ConnectorSimulator(dialer_url=dialer_url, **settings) as vc:
        yield vc


def start(vc, uid=None):
    uid = uid or str(uuid.uuid4())
    assert requests.post(vc.url + paths.START_PROCESS, json=details(uid), timeout=5).status_code == 200
    return uid


def callback_for(vc, uid, timeout=3):
    def made():
        return next((c["body"] for c in vc.callbacks() if c["body"]["uuid"] == uid), None)

    return wait_for(made, timeout=timeout, message=f"callback for {uid}")


def report_over(vc, uid, path=paths.CALL_RESULT):
    assert requests.post(vc.url + path, json={"callUid": uid}, timeout=5).status_code == 200


def figures(vc, queue=QUEUE, path=paths.AGENTS):
    response = requests.get(vc.url + path, params={"queue": queue}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def counts(logged_in, ready, busy, wrap_up):
    return {"loggedIn": logged_in, "ready": ready, "busy": busy, "wrapUp": wrap_up}


# --- the agents query ----------------------------------------------------------------------------


def test_every_agent_is_logged_in_and_ready_at_start(fake_dialer):
    with simulator(fake_dialer.url, agents=4) as vc:
        assert figures(vc) == counts(4, 4, 0, 0)


def test_the_figures_follow_a_call_from_reservation_through_wrap_up_to_ready(fake_dialer):
    with simulator(fake_dialer.url, wrap_up=1.0) as vc:
        uid = start(vc)
        assert figures(vc) == counts(3, 2, 1, 0)  # reserved with the request, before the callback
        assert callback_for(vc, uid)["agent"]
        assert figures(vc) == counts(3, 2, 1, 0)
        report_over(vc, uid)
        assert figures(vc) == counts(3, 2, 0, 1)
        wait_for(lambda: figures(vc) == counts(3, 3, 0, 0), timeout=5, message="the end of wrap-up")


def test_end_chat_also_puts_the_agent_into_wrap_up(fake_dialer):
    with simulator(fake_dialer.url, wrap_up=30) as vc:
        uid = start(vc)
        report_over(vc, uid, path=paths.END_CHAT)
        assert figures(vc) == counts(3, 2, 0, 1)


@pytest.mark.parametrize("params", [{"queue": "Some Queue Nobody Configured"}, {"queue": ""}, {}])
def test_any_queue_or_none_gets_the_whole_pool_figures(fake_dialer, params):
    with simulator(fake_dialer.url) as vc:
        start(vc)
        response = requests.get(vc.url + paths.AGENTS, params=params, timeout=5)
        assert (response.status_code, response.json()) == (200, counts(3, 2, 1, 0))


def test_the_agents_query_is_not_recorded_as_a_message(fake_dialer):
    with simulator(fake_dialer.url) as vc:
        figures(vc)
        assert vc.messages() == []


def test_the_agents_query_can_be_served_elsewhere_or_not_at_all(fake_dialer):
    with simulator(fake_dialer.url, agents_path="/vc/agents") as vc:
        assert figures(vc, path="/vc/agents") == counts(3, 3, 0, 0)
        assert requests.get(vc.url + paths.AGENTS, timeout=5).status_code == 404
    with simulator(fake_dialer.url, agents_endpoint=False) as vc:
        assert requests.get(vc.url + paths.AGENTS, params={"queue": QUEUE}, timeout=5).status_code == 404
        vc.agents_endpoint = True
        assert figures(vc) == counts(3, 3, 0, 0)


def test_in_error_mode_the_agents_query_gets_a_500(fake_dialer):
    with simulator(fake_dialer.url) as vc:
        vc.set_mode("error")
        assert requests.get(vc.url + paths.AGENTS, params={"queue": QUEUE}, timeout=5).status_code == 500
        vc.set_mode("up")
        assert figures(vc) == counts(3, 3, 0, 0)


# --- reservations --------------------------------------------------------------------------------


def test_a_reservation_with_no_agent_ready_is_answered_at_once_with_an_empty_agent(fake_dialer):
    with simulator(fake_dialer.url, agents=1, delay=10) as vc:
        first = start(vc)
        second = start(vc)
        # Well within the 10 s delay a reservation with an agent waits for.
        assert callback_for(vc, second, timeout=3) == {"agent": "", "uuid": second, "queue": ""}
        assert [r["json"]["uuid"] for r in fake_dialer.requests()] == [second]
        assert vc.agents() == [{"ext": "2001", "state": "busy", "call": first}]


def test_a_late_agent_refused_by_the_dialer_after_end_chat_is_ready_at_once(fake_dialer):
    # The predictive abandon: the dialer gave up on the call and sent END_CHAT, then the callback
    # naming the agent arrives and is refused (409); the agent must not sit out its wrap-up.
    fake_dialer.status = 409
    with simulator(fake_dialer.url, agents=1, delay=0.3, wrap_up=30) as vc:
        uid = start(vc)
        report_over(vc, uid, path=paths.END_CHAT)
        assert figures(vc) == counts(1, 0, 0, 1)
        callback_for(vc, uid)
        wait_for(lambda: figures(vc) == counts(1, 1, 0, 0), timeout=3, message="the agent given back")
        [assignment] = vc.assignments()
        assert assignment["ended_by"] == "cancelled"
        assert vc.agent_report()[0]["calls"] == 0


def _overlaps(assignments):
    """Pairs of one agent's assignments whose time on the agent overlaps."""
    found = []
    for ext in {a["ext"] for a in assignments}:
        own = sorted((a for a in assignments if a["ext"] == ext), key=lambda a: a["reserved_at"])
        found += [(a, b) for a, b in zip(own, own[1:], strict=False)
                  if a["free_at"] is None or b["reserved_at"] < a["free_at"]]
    return found


def test_no_agent_is_ever_given_two_calls_at_once(fake_dialer):
    calls_per_worker, workers = 8, 12

    with simulator(fake_dialer.url, agents=3, delay=0.01, wrap_up=0.02) as vc:

        def work(n):
            for i in range(calls_per_worker):
                uid = start(vc, f"w{n}-{i}")
                if callback_for(vc, uid)["agent"]:
                    report_over(vc, uid, path=paths.CALL_RESULT if i % 2 else paths.END_CHAT)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        wait_for(lambda: figures(vc)["ready"] == 3, timeout=3, message="every agent ready")

        callbacks = [c["body"] for c in vc.callbacks()]
        assignments = vc.assignments()
        given = [c for c in callbacks if c["agent"]]
        assert len(callbacks) == calls_per_worker * workers
        assert given and len(given) < len(callbacks)  # both kinds happened: the pool was contended
        assert _overlaps(assignments) == []
        assert sorted((c["agent"], c["uuid"]) for c in given) == sorted((a["ext"], a["call"]) for a in assignments)
        assert {a["ended_by"] for a in assignments} == {"reported"}
        assert sum(row["calls"] for row in vc.agent_report()) == len(given)


# --- the report ----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_report_counts_busy_and_wrap_up_seconds_and_calls_per_agent():
    clock = FakeClock()
    pool = AgentPool(2, hold=15, wrap_up=3, clock=clock)
    first, second = pool.reserve("reported"), pool.reserve("held")
    clock.now = 110
    pool.end_call("reported")
    clock.now = 113  # the first agent's wrap-up is over; the second is held until 115
    assert pool.reserve("cancelled") == first
    clock.now = 114
    pool.cancel("cancelled")  # busy for that second, but no call
    assert pool.reserve("open") == first
    clock.now = 118
    rows = {row["ext"]: row for row in pool.report()}
    assert {ext: (r["busy_seconds"], r["wrap_up_seconds"], r["calls"]) for ext, r in rows.items()} == {
        first: (10.0 + 1.0 + 4.0, 3.0, 2),
        second: (15.0, 0.0, 1),
    }
    assert [r["logged_in_seconds"] for r in rows.values()] == [18.0, 18.0]
    assert len({r["logged_in_since"] for r in rows.values()}) == 1


def test_assignments_say_when_and_how_each_reservation_ended():
    clock = FakeClock()
    pool = AgentPool(1, hold=15, wrap_up=3, clock=clock)
    pool.reserve("a")
    clock.now += 2
    pool.end_call("a")
    clock.now += 5
    pool.reserve("b")
    clock.now += 20
    pool.reserve("c")
    assert pool.assignments() == [
        {"ext": "2001", "call": "a", "reserved_at": 0.0, "ended_at": 2.0, "free_at": 5.0, "ended_by": "reported"},
        {"ext": "2001", "call": "b", "reserved_at": 7.0, "ended_at": None, "free_at": 22.0, "ended_by": "hold"},
        {"ext": "2001", "call": "c", "reserved_at": 27.0, "ended_at": None, "free_at": None, "ended_by": None},
    ]


def test_the_report_and_assignments_can_be_read_over_http(fake_dialer):
    with simulator(fake_dialer.url, agents=2, wrap_up=0.2) as vc:
        uid = start(vc)
        agent = callback_for(vc, uid)["agent"]
        report_over(vc, uid)
        wait_for(lambda: figures(vc)["ready"] == 2, timeout=3, message="the end of wrap-up")
        report = requests.get(vc.url + "/agents/report", timeout=5).json()
        assignments = requests.get(vc.url + "/agents/assignments", timeout=5).json()
    rows = {row["ext"]: row for row in report}
    assert sorted(rows) == ["2001", "2002"]
    assert rows[agent]["calls"] == 1 and rows[agent]["busy_seconds"] > 0
    assert rows[agent]["wrap_up_seconds"] == 0.2
    assert rows[agent]["logged_in_seconds"] >= rows[agent]["busy_seconds"] + 0.2
    other = rows[({"2001", "2002"} - {agent}).pop()]
    assert (other["calls"], other["busy_seconds"], other["wrap_up_seconds"]) == (0, 0.0, 0.0)
    assert [(a["ext"], a["call"], a["ended_by"]) for a in assignments] == [(agent, uid, "reported")]


def test_the_command_line_takes_the_agents_options():
    args = parse_args(["--agents", "50", "--delay", "0.1", "--wrap-up", "5", "--agents-path", "/x/agents",
                       "--no-agents-endpoint"])
    assert (args.agents, args.delay, args.wrap_up, args.agents_path, args.agents_endpoint) == (
        50, 0.1, 5.0, "/x/agents", False)
    assert (parse_args([]).agents_path, parse_args([]).agents_endpoint) == (paths.AGENTS, True)
