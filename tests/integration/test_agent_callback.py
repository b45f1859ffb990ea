"""The VC's agent callback dialing through the switch simulator (in process, over TCP)."""

import pytest
from sqlalchemy import select

from api import create_app
from dialer.adapters.models import Contact, OutboxMessage
from dialer.config import SwitchConfig
from tests.conftest import make_settings
from tests.factories import add_contacts


@pytest.fixture
def client(switch, database_url, redis_url, session_factory):
    switches = (SwitchConfig("sw1", "127.0.0.1", switch.port, "ClueCon", 10, 100.0),)
    return create_app(make_settings(database_url, redis_url, switches=switches)).test_client()


def reserved(session, **columns):
    [contact_id] = add_contacts(session, "sales", 1, campaign_type="AGENT", status="agent_pending",
                                switch_name="sw1", **columns)
    return contact_id


def test_an_agent_call_takes_the_contacts_queue_when_the_vc_names_none(client, connector_auth, session, switch):
    contact_id = reserved(session)
    response = client.post("/dialer-connector/agent", headers=connector_auth,
                           json={"agent": "2001", "uuid": contact_id, "queue": ""})
    assert response.get_json()["status"] == "dialed"
    [originate] = switch.originates
    assert originate.variables["sip_h_X-queue"] == "Sales Queue"
    assert originate.variables["sip_h_X-agentExtension"] == "2001"


def test_a_stored_value_the_originate_builder_refuses_fails_the_contact_and_frees_the_agent(
        client, connector_auth, session, switch):
    contact_id = reserved(session, service_identifier=None)  # no voice service id, and no default set
    response = client.post("/dialer-connector/agent", headers=connector_auth,
                           json={"agent": "2001", "uuid": contact_id, "queue": "Sales Queue"})
    assert response.get_json() == {"uuid": contact_id, "status": "failed", "callResult": "INVALID_CONTACT"}
    assert switch.originates == []
    session.expire_all()
    assert session.get(Contact, contact_id).status == "failed"
    kinds = session.execute(select(OutboxMessage.kind).where(OutboxMessage.contact_id == contact_id)).scalars()
    assert list(kinds) == ["end_chat"]
