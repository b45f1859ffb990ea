import pytest

from dialer.rules.gateway import (
    DOWN,
    INVALID,
    UP,
    GatewayCache,
    GatewayStatusError,
    parse_gateway_status,
    status_command,
)
from dialer.rules.validation import UnsafeValue
from tests.transcripts import api_replies


def reply(transcript, command, index=0):
    """The body FreeSWITCH sent for the `index`-th time `command` was asked in a transcript."""
    bodies = [body.decode() for sent, body in api_replies(transcript) if sent == command]
    return bodies[index]


def test_a_reachable_gateway_is_up():
    assert parse_gateway_status(reply("04", "api sofia status gateway gw-sipp")) == UP


def test_a_gateway_named_by_a_uuid_is_read_the_same_way():
    command = "api sofia status gateway 4d995f13-f90a-4bc9-8045-23809a34f82e"
    assert parse_gateway_status(reply("04", command)) == UP


def test_a_gateway_whose_pings_fail_is_down():
    assert parse_gateway_status(reply("04", "api sofia status gateway gw-down")) == DOWN


@pytest.mark.parametrize("name", ["no-such-gateway", "11111111-2222-3333-4444-555555555555"])
def test_an_unknown_gateway_is_invalid(name):
    assert parse_gateway_status(reply("04", f"api sofia status gateway {name}")) == INVALID


def test_a_ping_in_flight_does_not_change_up_or_down():
    command = "api sofia status gateway gw-sipp"
    bodies = [body.decode() for sent, body in api_replies("26") if sent == command]
    assert [line for body in bodies for line in body.splitlines() if line.startswith("Status")] == [
        "Status  \tUP",
        "Status  \tUP (ping)",
        "Status  \tDOWN (ping)",
        "Status  \tUP",
    ]
    assert [parse_gateway_status(body) for body in bodies] == [UP, UP, DOWN, UP]


def test_a_gateway_going_down_and_up_again_is_seen_in_each_reply():
    command = "api sofia status gateway gw-sipp"
    bodies = [body.decode() for sent, body in api_replies("25") if sent == command]
    assert [parse_gateway_status(body) for body in bodies] == [UP, UP, DOWN, UP]


@pytest.mark.parametrize(
    "command",
    [
        "api sofia status gateway",  # the table of all gateways
        "api sofia status profile external",
        "api sofia status profile no-such-profile",
    ],
)
def test_a_reply_that_is_not_one_gateways_status_is_an_error(command):
    with pytest.raises(GatewayStatusError):
        parse_gateway_status(reply("04", command))


@pytest.mark.parametrize("body", ["", "-ERR no reply\n", "Status  \tREGED\n"])
def test_an_unexpected_body_is_an_error_saying_what_it_got(body):
    with pytest.raises(GatewayStatusError, match="gateway"):
        parse_gateway_status(body)


def test_the_status_command_carries_the_checked_name():
    assert status_command("gw-1") == "sofia status gateway gw-1"


@pytest.mark.parametrize("name", ["gw1\n\napi hupall", "gw 1", "gw/1", "", "x" * 100])
def test_a_hostile_gateway_name_never_reaches_the_switch(name):
    asked = []
    with pytest.raises(UnsafeValue) as raised:
        GatewayCache(asked.append).status(name)
    assert raised.value.field == "gateway_id"
    assert asked == []


def test_the_cache_asks_the_switch_once_per_gateway_per_tick():
    bodies = {
        "gw-sipp": reply("04", "api sofia status gateway gw-sipp"),
        "gw-down": reply("04", "api sofia status gateway gw-down"),
    }
    asked = []

    def fetch(name):
        asked.append(name)
        return bodies[name]

    cache = GatewayCache(fetch)
    statuses = [cache.status(name) for name in ["gw-sipp", "gw-down", "gw-sipp", "gw-down", "gw-sipp"]]
    assert statuses == [UP, DOWN, UP, DOWN, UP]
    assert asked == ["gw-sipp", "gw-down"]


def test_a_failed_fetch_is_not_cached():
    calls = []

    def fetch(name):
        calls.append(name)
        if len(calls) == 1:
            raise ConnectionError("switch unreachable")
        return "Invalid Gateway!\n"

    cache = GatewayCache(fetch)
    with pytest.raises(ConnectionError):
        cache.status("gw-1")
    assert cache.status("gw-1") == INVALID
    assert calls == ["gw-1", "gw-1"]


class DictMemo:
    """A StatusMemo in a dict (the fleet's is Redis, workers/gateway_memo.py)."""

    def __init__(self, **known):
        self.known = dict(known)

    def get(self, name):
        return self.known.get(name)

    def put(self, name, status):
        self.known[name] = status


def test_a_status_the_memo_holds_is_used_without_asking_the_switch():
    asked = []
    cache = GatewayCache(asked.append, DictMemo(gw1=DOWN))
    assert cache.status("gw1") == DOWN
    assert asked == []


def test_a_status_the_switch_gave_is_put_in_the_memo_for_the_fleet():
    memo = DictMemo()
    cache = GatewayCache(lambda name: reply("04", "api sofia status gateway gw-sipp"), memo)
    assert cache.status("gw-sipp") == UP
    assert memo.known == {"gw-sipp": UP}


def test_a_hostile_gateway_name_never_reaches_the_memo_either():
    memo = DictMemo()
    with pytest.raises(UnsafeValue):
        GatewayCache(lambda name: "", memo).status("gw1\n\napi hupall")
    assert memo.known == {}
