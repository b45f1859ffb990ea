"""The embedded default, from an empty state folder: a real PostgreSQL and a real Redis."""

import psycopg2
import redis

from dialer.adapters.embedded import apply_embedded_defaults, stop_embedded
from dialer.ops.launcher import _dev_tokens, prepare_environment


def test_the_embedded_default_starts_postgres_and_redis_from_nothing(tmp_path):
    env = {"DIALER_STATE_DIR": str(tmp_path / "state")}
    try:
        started = apply_embedded_defaults(env)
        assert started == ["postgres", "redis"]
        connection = psycopg2.connect(env["DATABASE_URL"])
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            assert cursor.fetchone() == ("dialer",)
        connection.close()
        assert redis.Redis.from_url(env["REDIS_URL"]).ping()
        again = {"DIALER_STATE_DIR": env["DIALER_STATE_DIR"]}
        apply_embedded_defaults(again)  # a second process finds the same servers running
        assert again == {**env}
    finally:
        stop_embedded(tmp_path / "state")


def test_configured_servers_are_used_as_they_are(tmp_path):
    env = {"DIALER_STATE_DIR": str(tmp_path), "DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r:1/0"}
    assert apply_embedded_defaults(env) == []
    assert not (tmp_path / "postgres").exists()


def test_make_run_fills_in_simulators_and_development_tokens_only_where_nothing_is_configured(tmp_path):
    env = {"DIALER_STATE_DIR": str(tmp_path), "DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r:1/0",
           "DIALER_API_TOKEN": "mine", "DIALER_CONNECTOR_TOKEN": "theirs"}
    assert prepare_environment(env) == ["switch-sim", "vc-sim"]
    assert env["DIALER_API_TOKEN"] == "mine"
    assert '"port": 8021' in env["DIALER_SWITCHES"] and env["DIALER_VC_URL"] == "http://127.0.0.1:8088"
    assert env["DIALER_CDR_USER"] and env["DIALER_CDR_PASSWORD"]  # the simulated switch posts CDRs
    configured = {"DIALER_STATE_DIR": str(tmp_path), "DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r:1/0",
                  "DIALER_API_TOKEN": "mine", "DIALER_CONNECTOR_TOKEN": "theirs",
                  "DIALER_SWITCHES": '[{"name": "x"}]', "DIALER_VC_URL": "http://vc"}
    assert prepare_environment(configured) == []
    assert "DIALER_CDR_USER" not in configured  # a real switch's CDRs are the operator's to set up


def test_development_tokens_include_a_read_token_and_survive_runs_without_overriding_the_configured(tmp_path):
    first = {"DIALER_API_TOKEN": "mine"}
    _dev_tokens(first, tmp_path)
    names = ("DIALER_READ_TOKEN", "DIALER_CONNECTOR_TOKEN", "DIALER_SECRET_KEY")
    assert first["DIALER_API_TOKEN"] == "mine" and all(len(first[name]) >= 24 for name in names)
    assert len({first[name] for name in names}) == 3
    again = {}
    _dev_tokens(again, tmp_path)
    assert all(again[name] == first[name] for name in names)  # generated ones are kept across runs
    assert again["DIALER_API_TOKEN"] != "mine"  # a configured token is the operator's, never written down
    assert oct((tmp_path / "tokens.env").stat().st_mode & 0o777) == "0o600"
