"""Campaign commands: `dialer campaign settings CAMPAIGN [--file FILE]`."""

import json
import os

import click

from dialer.ops.sessions import open_sessions
from dialer.rules.policy import InvalidPolicy, parse_policy
from dialer.rules.validation import SAFE_ID_RULE, is_safe_id


@click.group("campaign")
def campaign():
    """Campaign commands."""


@campaign.command("settings")
@click.argument("campaign_id")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=str),
              help="Set the settings from this JSON file (a new version) instead of showing them.")
def settings_command(campaign_id, file):
    """Show CAMPAIGN_ID's effective settings as JSON, or set them from FILE.

    FILE holds the JSON object of `PUT /campaigns/<id>/settings` (DESIGN.md "Campaign policy"); it
    becomes the campaign's next version (the campaign is created if it has no contacts yet) and the
    version is printed. House defaults come from DIALER_DEFAULT_POLICY when set. A bad file or
    campaign id: a message and exit status 1, nothing changed.
    """
    from dialer.adapters.db import transaction
    from dialer.flows.policy_store import load_settings, save_settings

    if not is_safe_id(campaign_id):
        raise click.ClickException(f"campaign id {campaign_id!r}: {SAFE_ID_RULE}")
    house = _house_policy()
    document = None if file is None else _read_document(file)
    engine, sessions = open_sessions()
    try:
        with transaction(sessions) as session:
            if document is not None:
                version = save_settings(session, campaign_id, document)
            effective = load_settings(session, campaign_id, house)
    except InvalidPolicy as exc:
        raise click.ClickException(_invalid(file, exc.fields)) from exc
    finally:
        engine.dispose()
    if effective is None:
        raise click.ClickException(f"no campaign with id {campaign_id!r}")
    if document is None:
        click.echo(json.dumps(effective, indent=2))
    else:
        click.echo(f"campaign {campaign_id}: settings version {version}")


def _house_policy():
    """DIALER_DEFAULT_POLICY, read on its own: the command needs none of the fleet's other settings."""
    raw = os.environ.get("DIALER_DEFAULT_POLICY", "").strip()
    if not raw:
        return {}
    try:
        return parse_policy(json.loads(raw))
    except (ValueError, InvalidPolicy) as exc:
        raise click.ClickException(f"DIALER_DEFAULT_POLICY is not a valid campaign policy: {exc}") from exc


def _read_document(file):
    try:
        with open(file, encoding="utf-8") as source:
            return json.load(source)
    except OSError as exc:
        raise click.ClickException(f"{file}: cannot read it ({exc.strerror or exc})") from exc
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise click.ClickException(f"{file}: not valid JSON ({exc})") from exc


def _invalid(file, fields):
    lines = [f"{file}: invalid campaign settings, nothing changed"]
    lines += [f"  {name}: {'; '.join(reasons)}" for name, reasons in fields.items()]
    return "\n".join(lines)


COMMANDS = (campaign,)
