"""The operator's command line: `dialer <command>`. Other modules add commands with `main.add_command`."""

import os

import click

from dialer.db import make_engine, make_session_factory, migrate


@click.group()
def main():
    """Outbound dialer: operator commands."""


def database_url(environ=None):
    """DATABASE_URL, which is all `import` and `status` need (not the fleet's other settings).

    Without one, the embedded PostgreSQL is started (or found running) and migrated, as `make run` does.
    """
    env = os.environ if environ is None else environ
    if not env.get("DATABASE_URL", "").strip():
        from dialer.embedded import apply_embedded_defaults

        apply_embedded_defaults(env)
        migrate(env["DATABASE_URL"])
    return env["DATABASE_URL"]


def open_sessions():
    """An engine on DATABASE_URL and its session factory; dispose the engine when done."""
    engine = make_engine(database_url(), pool_size=1, max_overflow=0)
    return engine, make_session_factory(engine)


@main.command("import")
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
    from dialer.importer import ImportFileError, import_file

    file_format = file_format or _format_of(file)
    engine, sessions = open_sessions()
    try:
        summary = import_file(sessions, file, file_format, batch_size)
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


@main.command("status")
@click.argument("campaign_id", required=False)
def status_command(campaign_id):
    """Show how many contacts each campaign (or CAMPAIGN_ID only) has in each state."""
    from dialer.campaigns import campaign_status, list_campaigns
    from dialer.states import ALL

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


def _add_fleet_commands():
    from dialer.ops_cli import COMMANDS  # imports this module's helpers, so it comes last

    for command in COMMANDS:
        main.add_command(command)


_add_fleet_commands()
