"""Requeue by result: an operator's way to dial again the contacts the dialer would not (LOST: it
could not know whether the customer was rung), through the API and the CLI."""

import pytest
from click.testing import CliRunner

from dialer.ops.cli import main
from dialer.rules import states
from tests.calls import contact
from tests.factories import add_contacts


@pytest.fixture
def finished(session):
    """One campaign's final contacts: two LOST, one SWITCH_DOWN, one busy; and one LOST elsewhere."""
    lost = add_contacts(session, "c1", 2, status=states.ENDED, call_result="LOST", switch_name="sw1")
    [down] = add_contacts(session, "c1", 1, status=states.FAILED, call_result="SWITCH_DOWN")
    [busy] = add_contacts(session, "c1", 1, status=states.ENDED, call_result="USER_BUSY")
    [elsewhere] = add_contacts(session, "c2", 1, status=states.ENDED, call_result="LOST")
    return {"lost": lost, "down": down, "busy": busy, "elsewhere": elsewhere}


def statuses(session, ids):
    return [contact(session, i).status for i in ids]


def test_requeue_moves_the_campaigns_final_contacts_with_those_results_back_to_pending(client, auth, session,
                                                                                      finished):
    response = client.post("/campaigns/c1/requeue", headers=auth, json={"results": ["LOST", "SWITCH_DOWN"]})

    assert response.status_code == 200
    assert response.get_json() == {"campaign_id": "c1", "action": "requeue", "results": ["LOST", "SWITCH_DOWN"],
                                   "changed": 3}
    requeued = contact(session, finished["lost"][0])
    assert (requeued.status, requeued.call_result, requeued.switch_name) == (states.PENDING, None, None)
    assert statuses(session, [*finished["lost"], finished["down"]]) == [states.PENDING] * 3
    assert statuses(session, [finished["busy"], finished["elsewhere"]]) == [states.ENDED, states.ENDED]


@pytest.mark.parametrize("body", [None, {}, {"results": []}, {"results": "LOST"}, {"results": ["lost; drop"]},
                                  {"results": [3]}])
def test_requeue_without_a_list_of_results_is_a_400_naming_the_field_and_changes_nothing(client, auth, session,
                                                                                        finished, body):
    response = client.post("/campaigns/c1/requeue", headers=auth, json=body)

    assert response.status_code == 400
    assert "results" in response.get_json()["fields"]
    assert statuses(session, finished["lost"]) == [states.ENDED, states.ENDED]


def test_requeue_of_an_unknown_campaign_is_a_404(client, auth, finished):
    assert client.post("/campaigns/nope/requeue", headers=auth, json={"results": ["LOST"]}).status_code == 404


def test_requeue_needs_the_api_token(client, finished):
    assert client.post("/campaigns/c1/requeue", json={"results": ["LOST"]}).status_code == 401


def test_the_cli_requeues_by_result(database_url, session, finished):
    result = CliRunner().invoke(main, ["requeue", "c1", "--result", "lost"], env={"DATABASE_URL": database_url})

    assert result.exit_code == 0, result.output
    assert "requeued 2 contact(s) of c1" in result.output
    assert statuses(session, finished["lost"]) == [states.PENDING, states.PENDING]


def test_the_cli_names_an_unknown_campaign(database_url, finished):
    result = CliRunner().invoke(main, ["requeue", "nope", "--result", "LOST"], env={"DATABASE_URL": database_url})

    assert result.exit_code != 0
    assert "no campaign with id 'nope'" in result.output
