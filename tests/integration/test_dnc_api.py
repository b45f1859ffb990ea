"""Do-not-call lists over HTTP and `blocked_pairs`, on a real PostgreSQL."""

from sqlalchemy import event, func, select

from dialer.adapters.models import DncNumber
from dialer.flows.dnc import add_numbers, blocked_pairs

NUMBER = "+12125550123"


def listed(session):
    return {tuple(row) for row in session.execute(select(DncNumber.number, DncNumber.campaign_id))}


def post(client, auth, numbers, **extra):
    return client.post("/dnc", json={"numbers": numbers, **extra}, headers=auth)


def test_a_number_added_to_the_global_list_is_found_blocked_with_its_reason(client, auth):
    assert post(client, auth, [NUMBER], reason="asked by phone").get_json() == {"added": 1}
    found = client.get(f"/dnc/{NUMBER}", headers=auth).get_json()
    since = found["lists"][0].pop("since")
    assert since.endswith("+00:00")
    assert found == {"number": NUMBER, "blocked": True,
                     "lists": [{"campaign_id": None, "reason": "asked by phone"}]}


def test_differently_written_forms_of_one_number_are_one_entry(client, auth, session):
    assert post(client, auth, ["+1 (212) 555-0123", "2125550123"]).get_json() == {"added": 1}
    assert post(client, auth, ["212-555-0123"]).get_json() == {"added": 0}
    assert listed(session) == {(NUMBER, "")}
    assert client.get("/dnc/(212) 555 0123", headers=auth).get_json()["number"] == NUMBER


def test_a_number_on_no_list_is_not_blocked(client, auth):
    assert client.get("/dnc/2125550123", headers=auth).get_json() == {"number": NUMBER, "blocked": False,
                                                                     "lists": []}


def test_the_lookup_lists_the_global_entry_first_then_each_campaign(client, auth):
    post(client, auth, [NUMBER], campaign_id="camp-b", reason="b")
    post(client, auth, [NUMBER], campaign_id="camp-a", reason="a")
    post(client, auth, [NUMBER], reason="everyone")
    lists = client.get(f"/dnc/{NUMBER}", headers=auth).get_json()["lists"]
    assert [(entry["campaign_id"], entry["reason"]) for entry in lists] == [
        (None, "everyone"), ("camp-a", "a"), ("camp-b", "b")]


def test_delete_without_a_campaign_removes_only_the_global_entry(client, auth, session):
    post(client, auth, [NUMBER])
    post(client, auth, [NUMBER], campaign_id="camp-a")
    assert client.delete(f"/dnc/{NUMBER}", headers=auth).get_json() == {"removed": 1}
    assert listed(session) == {(NUMBER, "camp-a")}
    assert client.delete(f"/dnc/{NUMBER}", headers=auth).get_json() == {"removed": 0}


def test_delete_with_a_campaign_removes_only_that_campaigns_entry(client, auth, session):
    post(client, auth, [NUMBER])
    post(client, auth, [NUMBER], campaign_id="camp-a")
    post(client, auth, [NUMBER], campaign_id="camp-b")
    removed = client.delete("/dnc/2125550123?campaign_id=camp-a", headers=auth)
    assert removed.get_json() == {"removed": 1}
    assert listed(session) == {(NUMBER, ""), (NUMBER, "camp-b")}


def test_one_invalid_number_is_named_by_its_index_and_nothing_is_stored(client, auth, session):
    answer = post(client, auth, [NUMBER, "not a number", 12125550124, "+1" + "2" * 16])
    assert answer.status_code == 400
    fields = answer.get_json()["fields"]
    assert sorted(fields) == ["numbers.1", "numbers.2", "numbers.3"]
    assert fields["numbers.1"][0].startswith("not a phone number")
    assert fields["numbers.2"] == ["must be a string"]
    assert fields["numbers.3"] == ["too long for a phone number: E.164 numbers have at most 15 digits"]
    assert listed(session) == set()


def test_a_bad_campaign_id_reason_or_field_is_a_400_and_nothing_is_stored(client, auth, session):
    answer = post(client, auth, [NUMBER], campaign_id="bad id;", reason="x" * 201, colour="red")
    assert answer.status_code == 400
    assert sorted(answer.get_json()["fields"]) == ["campaign_id", "colour", "reason"]
    assert listed(session) == set()


def test_an_empty_or_oversized_list_of_numbers_is_a_400(client, auth, session):
    for numbers in ([], [NUMBER] * 100_001, NUMBER, None):
        answer = post(client, auth, numbers)
        assert answer.status_code == 400, numbers
        assert list(answer.get_json()["fields"]) == ["numbers"]
    assert listed(session) == set()


def test_100000_numbers_in_one_request_are_stored(client, auth, session):
    numbers = [f"+1212{n:07d}" for n in range(100_000)]
    assert post(client, auth, numbers).get_json() == {"added": 100_000}
    assert session.scalar(select(func.count()).select_from(DncNumber)) == 100_000


def test_an_invalid_number_in_the_path_is_a_400(client, auth):
    for method in (client.get, client.delete):
        answer = method("/dnc/not-a-number", headers=auth)
        assert answer.status_code == 400
        assert list(answer.get_json()["fields"]) == ["number"]


def test_a_bad_campaign_id_on_delete_is_a_400_and_nothing_is_removed(client, auth, session):
    post(client, auth, [NUMBER])
    answer = client.delete(f"/dnc/{NUMBER}?campaign_id=", headers=auth)
    assert answer.status_code == 400
    assert list(answer.get_json()["fields"]) == ["campaign_id"]
    assert listed(session) == {(NUMBER, "")}


def test_the_read_token_may_look_up_but_not_add_or_remove(client, auth, read_auth, session):
    post(client, auth, [NUMBER])
    assert client.get(f"/dnc/{NUMBER}", headers=read_auth).status_code == 200
    assert post(client, read_auth, ["+12125550124"]).status_code == 403
    assert client.delete(f"/dnc/{NUMBER}", headers=read_auth).status_code == 403
    assert listed(session) == {(NUMBER, "")}


def test_no_token_gets_a_401(client):
    assert client.get(f"/dnc/{NUMBER}").status_code == 401


def test_the_global_list_blocks_every_campaign_and_a_campaign_list_only_its_own(session):
    add_numbers(session, ["+12125550001"])
    add_numbers(session, ["+12125550002"], campaign_id="camp-a")
    pairs = [(number, campaign) for number in ("+12125550001", "+12125550002", "+12125550003")
             for campaign in ("camp-a", "camp-b")]
    assert blocked_pairs(session, pairs) == {("+12125550001", "camp-a"), ("+12125550001", "camp-b"),
                                             ("+12125550002", "camp-a")}


def test_blocked_pairs_of_nothing_is_nothing(session):
    assert blocked_pairs(session, []) == set()


def test_blocked_pairs_checks_10000_pairs_in_one_statement(session, engine):
    add_numbers(session, [f"+1212{n:07d}" for n in range(0, 10_000, 2)])
    statements = []

    def count(connection, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        blocked = blocked_pairs(session, [(f"+1212{n:07d}", "camp-a") for n in range(10_000)])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(blocked) == 5_000
    assert len(statements) == 1
