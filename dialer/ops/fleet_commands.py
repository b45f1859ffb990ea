"""Fleet commands for operators: `dialer run`, `dialer migrate`, `dialer services ...`,
`dialer outbox ...`. Registered on the `dialer` group by dialer/ops/cli.py."""

import os

import click

from dialer.ops.sessions import open_sessions


@click.command("run")
def run_command():
    """Start the whole fleet (embedded servers and simulators when nothing else is configured)."""
    from dialer.ops.launcher import run

    run()


@click.command("migrate")
def migrate_command():
    """Apply database migrations to DATABASE_URL (the Procfile's release step)."""
    from dialer.adapters.db import migrate
    from dialer.ops.sessions import database_url

    migrate(database_url())
    click.echo("database is up to date")


@click.group("services")
def services():
    """The embedded PostgreSQL and Redis of the local state folder."""


@services.command("up")
def services_up():
    """Start them (if needed) and print their URLs as shell exports; they stay running (a `make run`
    or test session that ends does not stop them) until `dialer services stop`."""
    from dialer.adapters.embedded import apply_embedded_defaults

    env = {}
    apply_embedded_defaults(env, keep=True)
    for name, value in env.items():
        click.echo(f"export {name}='{value}'")


@services.command("stop")
def services_stop():
    """Stop them."""
    from dialer.adapters.embedded import state_dir, stop_embedded

    stop_embedded(state_dir(os.environ))
    click.echo("embedded servers stopped")


@click.group("outbox")
def outbox():
    """Messages for the voice connector."""


@outbox.command("status")
def outbox_status():
    """Count messages by state (pending, delivered, dead)."""
    from sqlalchemy import func, select

    from dialer.adapters.models import OutboxMessage

    engine, sessions = open_sessions()
    with sessions() as session:
        rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    engine.dispose()
    for status, count in sorted(rows):
        click.echo(f"{status:10} {count}")


@outbox.command("requeue")
def outbox_requeue():
    """Give every dead message (retries exhausted) a fresh set of retries."""
    from dialer.flows.outbox import requeue_dead

    engine, sessions = open_sessions()
    with sessions() as session:
        count = requeue_dead(session)
    engine.dispose()
    click.echo(f"requeued {count} message(s)")


@click.command("requeue")
@click.argument("campaign_id")
@click.option("--result", "results", multiple=True, required=True,
              help="a call result whose final contacts are dialed again, e.g. LOST (repeatable)")
def requeue_command(campaign_id, results):
    """Put a campaign's final contacts with these call results back to pending for a new attempt."""
    from dialer.flows.controls import requeue_by_result

    engine, sessions = open_sessions()
    with sessions() as session:
        changed = requeue_by_result(session, campaign_id, [r.upper() for r in results])
    engine.dispose()
    if changed is None:
        raise click.ClickException(f"no campaign with id {campaign_id!r}")
    click.echo(f"requeued {changed} contact(s) of {campaign_id} ({', '.join(results)})")


@click.group("cdr")
def cdr():
    """Call detail records of the switches' mod_json_cdr."""


@cdr.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))
def cdr_import(paths):
    """Record CDRs the switch could not post (its err-log-dir files `a_<uuid>.cdr.json`, or folders of
    them), as if posted to /cdr: the workers record the results; ones already known change nothing."""
    from dialer.flows.cdr_files import import_cdr_files

    engine, sessions = open_sessions()
    with sessions() as session:
        summary = import_cdr_files(session, paths, os.environ.get("DIALER_INSTANCE", "dialer") or "dialer")
    engine.dispose()
    click.echo(f"{summary.new} new, {summary.known} already known, {summary.not_ours} not calls of this dialer, "
               f"{len(summary.bad)} unreadable")
    for path, reason in summary.bad:
        click.echo(f"  {path}: {reason}", err=True)
    if summary.bad:
        raise SystemExit(1)


COMMANDS = (run_command, migrate_command, services, outbox, requeue_command, cdr)


@click.command("demo")
@click.option("--api", default="http://127.0.0.1:8000", show_default=True, help="The dialer's API.")
@click.option("--contacts", "count", default=60, show_default=True, help="Contacts over three campaigns.")
def demo_command(api, count):
    """Post demo contacts to a fleet on the simulators, then print campaign progress every 5 s."""
    import time

    import requests

    from dialer.ops.demo import demo_contacts

    headers = {"Authorization": f"Bearer {os.environ['DIALER_API_TOKEN']}"}
    while True:
        try:
            requests.get(f"{api}/healthz", timeout=2)
            break
        except requests.RequestException:
            time.sleep(0.5)
    response = requests.post(f"{api}/contacts/bulk", json=demo_contacts(count), headers=headers, timeout=30)
    click.echo(f"demo: posted {count} contacts: HTTP {response.status_code} {response.text.strip()}")
    while True:
        campaigns = requests.get(f"{api}/campaigns", headers=headers, timeout=5).json()["campaigns"]
        ongoing = requests.get(f"{api}/calls/ongoing", headers=headers, timeout=5).json()
        progress = "  ".join(f"{c['campaign_id']}: {c['counts']['ended']} ended, {c['counts']['pending']} pending"
                             for c in campaigns)
        click.echo(f"demo: {ongoing['ongoing']} calls up  |  {progress}", nl=True)
        time.sleep(5)


COMMANDS = (*COMMANDS, demo_command)
