"""Contact commands: `dialer import FILE` and `dialer status [CAMPAIGN]`."""

import os

import click

from dialer.ops.sessions import open_sessions


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--format", "file_format", type=click.Choice(["csv", "json"]),
              help="File format; by default from the file's extension.")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(min=1),
              help="Contacts stored per transaction.")
def import_command(file, file_format, batch_size):
    """Load contacts from FILE into the store.

    CSV: a header line with the contact table's column names (id, customer_number, campaign_id,
    campaign_type, gateway_id, start_time, end_time, priority, ...), one contact per line. JSON: a list
    of contacts in either form (flat, or the spec's "Campaign contact" payload).

    Valid contacts are stored (a contact already stored is left as it is, so a file can be imported
    again); invalid ones are listed with their line or index and reasons. Exits with status 1 if any
    contact was rejected, 0 otherwise.
    """
    from dialer.flows.importer import ImportFileError, import_file

    file_format = file_format or _format_of(file)
    engine, sessions = open_sessions()
    try:
        summary = import_file(sessions, file, file_format, batch_size,
                              region=os.environ.get("DIALER_DEFAULT_REGION", "US").strip().upper() or "US")
    except ImportFileError as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    finally:
        engine.dispose()
    click.echo(f"stored: {summary.stored}")
    click.echo(f"already present: {summary.existing}")
    click.echo(f"rejected: {len(summary.rejected)}")
    for where, fields in summary.rejected:
        for name, reasons in fields.items():
            click.echo(f"  {where}: {name}: {'; '.join(reasons)}")
    if summary.rejected:
        raise SystemExit(1)


def _format_of(file):
    extension = os.path.splitext(file)[1].lower()
    if extension in (".csv", ".json"):
        return extension[1:]
    raise click.BadParameter("cannot tell the format from the extension; pass --format csv|json",
                             param_hint="FILE")


@click.command("status")
@click.argument("campaign_id", required=False)
def status_command(campaign_id):
    """Show how many contacts each campaign (or CAMPAIGN_ID only) has in each state."""
    from dialer.flows.campaigns import campaign_status, list_campaigns
    from dialer.rules.states import ALL

    engine, sessions = open_sessions()
    try:
        with sessions() as session:
            found = list_campaigns(session) if campaign_id is None else campaign_status(session, campaign_id)
    finally:
        engine.dispose()
    if found is None:
        raise click.ClickException(f"no campaign with id {campaign_id!r}")
    campaigns = found if campaign_id is None else [found]
    if not campaigns:
        click.echo("no campaigns")
        return
    header = ["campaign", "state", *ALL]
    lines = [[c["campaign_id"], c["state"], *(str(c["counts"][s]) for s in ALL)] for c in campaigns]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    for line in [header, *lines]:
        click.echo("  ".join(cell.ljust(width) if i < 2 else cell.rjust(width)
                             for i, (cell, width) in enumerate(zip(line, widths, strict=True))).rstrip())
    if campaign_id is not None:
        _echo_policy_status(found)


def _echo_policy_status(status):
    waiting = status["waiting"]
    click.echo(f"settings version {status['settings_version']}; waiting for their calling window "
               f"{waiting['window']}, for a retry {waiting['retry']}; blocked by DNC {status['dnc']}")
    if status["dispositions"]:
        click.echo("attempts by disposition: " + ", ".join(f"{k} {v}" for k, v in status["dispositions"].items()))


COMMANDS = (import_command, status_command)
