"""Delivery requests (workers/tasks.py): one delivery queued or running at a time; when it is done
it asks for another if messages were written meanwhile, so nothing waits for the beat."""

import json
import threading

import pytest

from dialer.adapters.vc import VcClient
from dialer.flows.outbox import add_message
from sim.connector.server import ConnectorSimulator
from sim.testing import wait_for
from tests.factories import add_contacts
from workers import tasks


@pytest.fixture
def vc(rt):
    with ConnectorSimulator(port=0, dialer_url="http://127.0.0.1:9") as simulator:
        rt.vc = VcClient(simulator.url, timeout=5.0)
        yield simulator
        rt.vc.close()


def queued_deliveries(rt):
    return [json.loads(raw)["headers"]["task"] for raw in rt.redis.lrange("notify", 0, -1)]


def write_result(session, contact_id):
    add_message(session, contact_id, "call_result", "/fs-message/call-result", {"callUid": contact_id})
    session.commit()


def test_requests_while_a_delivery_is_queued_add_no_second_one(rt):
    tasks.request_delivery(rt)
    tasks.request_delivery(rt)

    assert queued_deliveries(rt) == ["dialer.deliver_outbox"]


def test_a_delivery_asks_for_another_when_messages_were_written_while_it_worked(rt, vc, session,
                                                                                 session_factory):
    first, second = add_contacts(session, "camp-1", 2)
    write_result(session, first)
    tasks.request_delivery(rt)
    rt.redis.delete("notify")  # the queued request is the one that runs now
    vc.set_mode("slow", 0.3)
    queued_while_running = []

    def written_meanwhile():  # a result recorded while the delivery is at the VC
        wait_for(lambda: vc.messages(), message="the first message at the VC")
        with session_factory() as recording:
            write_result(recording, second)
        tasks.request_delivery(rt)
        queued_while_running.extend(queued_deliveries(rt))

    writer = threading.Thread(target=written_meanwhile)
    writer.start()
    assert tasks.deliver_outbox() == 1
    writer.join(timeout=10)

    assert queued_while_running == []  # a delivery was running: no second one queued beside it
    assert queued_deliveries(rt) == ["dialer.deliver_outbox"]  # asked for by the one that finished
