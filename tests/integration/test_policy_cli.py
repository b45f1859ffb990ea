"""`dialer campaign settings` through click, on the test database."""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dialer.adapters.models import Campaign, CampaignSettings
from dialer.flows.policy_store import save_settings
from dialer.ops.cli import main
from dialer.rules.policy import DEFAULTS

BUSY_RULE = {"retries": {"BUSY": {"retries": 2, "after_seconds": 300}}, "max_attempts": 3}


@pytest.fixture
def run(database_url, session_factory):
    """Invoke the CLI on the (emptied) test database; returns click's Result."""

    def invoke(*args, **env):
        return CliRunner().invoke(main, [str(a) for a in args], env={"DATABASE_URL": database_url, **env})

    return invoke


def write_json(path, document):
    path.write_text(json.dumps(document))
    return path


def stored_versions(session, campaign_id):
    session.rollback()
    return list(session.scalars(select(CampaignSettings.version)
                                .where(CampaignSettings.campaign_id == campaign_id)
                                .order_by(CampaignSettings.version)))


def test_settings_from_a_file_become_the_next_version_and_show_prints_them(run, tmp_path, session):
    first = run("campaign", "settings", "c1", "--file", write_json(tmp_path / "one.json", BUSY_RULE))
    assert (first.exit_code, first.stdout) == (0, "campaign c1: settings version 1\n")
    second = run("campaign", "settings", "c1", "--file", write_json(tmp_path / "two.json", {"max_attempts": 4}))
    assert second.stdout == "campaign c1: settings version 2\n"
    shown = run("campaign", "settings", "c1")
    assert shown.exit_code == 0
    assert json.loads(shown.stdout) == {**DEFAULTS, "max_attempts": 4, "version": 2}
    assert stored_versions(session, "c1") == [1, 2]
    assert session.get(Campaign, "c1").state == "running"


def test_show_fills_in_the_house_defaults_from_the_environment(run, session):
    save_settings(session, "c1", BUSY_RULE)
    session.commit()
    house = {"retries": {"NO_ANSWER": {"retries": 1, "after_seconds": 60}}, "fallback_timezone": "Europe/Paris"}
    shown = json.loads(run("campaign", "settings", "c1", DIALER_DEFAULT_POLICY=json.dumps(house)).stdout)
    assert set(shown["retries"]) == {"BUSY", "NO_ANSWER"}
    assert (shown["fallback_timezone"], shown["max_attempts"], shown["version"]) == ("Europe/Paris", 3, 1)


def test_a_file_with_bad_settings_names_the_fields_exits_1_and_changes_nothing(run, tmp_path, session):
    run("campaign", "settings", "c1", "--file", write_json(tmp_path / "good.json", BUSY_RULE))
    bad = write_json(tmp_path / "bad.json", {"max_attempts": 0, "calling_hours": {"mon": ["21:00", "09:00"]}})
    result = run("campaign", "settings", "c1", "--file", bad)
    assert result.exit_code == 1
    assert "invalid campaign settings, nothing changed" in result.stderr
    assert "max_attempts: must be a whole number from 1 to 20" in result.stderr
    assert "calling_hours.mon:" in result.stderr
    assert stored_versions(session, "c1") == [1]


@pytest.mark.parametrize(("content", "says"), [("{not json", "not valid JSON"), (b"\xff\xfe{}", "not valid JSON")])
def test_a_file_that_is_not_json_is_a_message_and_exit_1(run, tmp_path, session, content, says):
    path = tmp_path / "settings.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run("campaign", "settings", "c1", "--file", path)
    assert result.exit_code == 1
    assert says in result.stderr
    assert session.get(Campaign, "c1") is None


def test_a_missing_file_is_a_message_and_exit_1(run, tmp_path):
    result = run("campaign", "settings", "c1", "--file", tmp_path / "nowhere.json")
    assert result.exit_code == 1
    assert "cannot read it" in result.stderr


def test_showing_an_unknown_campaign_is_a_message_and_exit_1(run):
    result = run("campaign", "settings", "nobody")
    assert result.exit_code == 1
    assert "no campaign with id 'nobody'" in result.stderr


def test_a_bad_campaign_id_is_a_message_and_exit_1(run, tmp_path, session):
    result = run("campaign", "settings", "a,b", "--file", write_json(tmp_path / "s.json", {}))
    assert result.exit_code == 1
    assert "campaign id 'a,b'" in result.stderr
    session.rollback()
    assert session.scalars(select(Campaign.id)).all() == []


def test_a_bad_house_policy_in_the_environment_is_a_message_and_exit_1(run):
    result = run("campaign", "settings", "c1", DIALER_DEFAULT_POLICY='{"max_attempts": 99}')
    assert result.exit_code == 1
    assert "DIALER_DEFAULT_POLICY is not a valid campaign policy" in result.stderr
