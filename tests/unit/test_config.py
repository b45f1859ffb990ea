import json

import pytest

from dialer.config import ConfigError, load_settings, parse_switches

SWITCH = {"name": "sw1", "host": "10.0.0.5", "port": 8021, "password": "pw", "capacity": 30, "cps": 10}
COMPLETE = {
    "DATABASE_URL": "postgresql://db/dialer",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DIALER_API_TOKEN": "a",
    "DIALER_CONNECTOR_TOKEN": "b",
    "DIALER_SWITCHES": json.dumps([SWITCH]),
    "DIALER_VC_URL": "http://vc:8088/",
}


def test_a_complete_environment_gives_settings_with_defaults():
    settings = load_settings(dict(COMPLETE))
    assert settings.capacity == 30 and settings.switch("sw1").cps == 10
    assert settings.vc_url == "http://vc:8088"
    assert (settings.default_ivr, settings.dialplan_context, settings.tick_seconds) == ("6666", "default", 1.0)


def test_missing_required_values_stop_start_up_naming_every_one():
    env = dict(COMPLETE)
    del env["DATABASE_URL"], env["DIALER_API_TOKEN"]
    with pytest.raises(ConfigError, match="DATABASE_URL, DIALER_API_TOKEN"):
        load_settings(env)


@pytest.mark.parametrize("text, reason", [
    ("not json", "not valid JSON"),
    ("[]", "non-empty"),
    (json.dumps([{**SWITCH, "port": "x"}]), "integers"),
    (json.dumps([{k: v for k, v in SWITCH.items() if k != "cps"}]), "missing: cps"),
    (json.dumps([SWITCH, SWITCH]), "same name"),
    (json.dumps([{**SWITCH, "host": "a b"}]), "host"),
    (json.dumps([{**SWITCH, "cps": 0}]), "cps > 0"),
])
def test_a_malformed_switch_list_is_refused_with_the_reason(text, reason):
    with pytest.raises(ConfigError, match=reason):
        parse_switches(text)


@pytest.mark.parametrize("name, value", [
    ("DIALER_DEFAULT_IVR", "66 66"),
    ("DIALER_DIALPLAN_CONTEXT", "default}"),
    ("DIALER_TICK_SECONDS", "soon"),
    ("DIALER_TICK_SECONDS", "0"),
    ("DIALER_INSTANCE", "a,b"),
])
def test_values_that_would_reach_an_esl_command_or_a_timer_are_checked(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({**COMPLETE, name: value})


def test_the_house_policy_and_region_are_read_and_checked():
    settings = load_settings({**COMPLETE, "DIALER_DEFAULT_POLICY": '{"max_attempts": 3}',
                              "DIALER_DEFAULT_REGION": "gb"})
    assert (settings.default_policy, settings.default_region) == ({"max_attempts": 3}, "GB")
    assert (load_settings(dict(COMPLETE)).default_policy, load_settings(dict(COMPLETE)).default_region) == ({}, "US")


@pytest.mark.parametrize("name, value, reason", [
    ("DIALER_DEFAULT_POLICY", "{not json", "DIALER_DEFAULT_POLICY"),
    ("DIALER_DEFAULT_POLICY", '{"max_attempts": 0}', "max_attempts"),
    ("DIALER_DEFAULT_REGION", "XX", "DIALER_DEFAULT_REGION"),
])
def test_a_bad_house_policy_or_region_stops_start_up_naming_it(name, value, reason):
    with pytest.raises(ConfigError, match=reason):
        load_settings({**COMPLETE, name: value})


@pytest.mark.parametrize("raw, secure", [("", False), ("0", False), ("no", False), ("1", True), ("True", True),
                                         ("on", True)])
def test_dialer_cookie_secure_reads_as_a_yes_or_no(raw, secure):
    assert load_settings({**COMPLETE, "DIALER_COOKIE_SECURE": raw}).cookie_secure is secure


def test_an_unclear_dialer_cookie_secure_stops_start_up():
    with pytest.raises(ConfigError, match="DIALER_COOKIE_SECURE"):
        load_settings({**COMPLETE, "DIALER_COOKIE_SECURE": "maybe"})


def test_the_pacing_settle_time_defaults_to_the_originate_timeout_and_may_be_set():
    assert load_settings(dict(COMPLETE)).predictive.settle_seconds is None  # the flow adds 5 s to the timeout
    assert load_settings({**COMPLETE, "DIALER_PACING_SETTLE_SECONDS": "7"}).predictive.settle_seconds == 7.0
    with pytest.raises(ConfigError, match="DIALER_PACING_SETTLE_SECONDS"):
        load_settings({**COMPLETE, "DIALER_PACING_SETTLE_SECONDS": "0.1"})
