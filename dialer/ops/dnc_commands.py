"""Do-not-call commands: `dialer dnc import FILE` and `dialer dnc export`."""

import csv
import os
import sys

import click
import phonenumbers

from dialer.ops.sessions import open_sessions
from dialer.rules.dnc import InvalidEntry, check_campaign_id, check_reason

EXPORT_COLUMNS = ("number", "campaign_id", "reason", "since")


@click.group("dnc")
def dnc():
    """Do-not-call lists: the global one, and one per campaign."""


@dnc.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--campaign", "campaign_id", help="The campaign's list; by default the global list.")
@click.option("--reason", default="", help="Why these numbers may not be called (at most 200 characters).")
def import_command(file, campaign_id, reason):
    """Put the numbers of FILE on a do-not-call list.

    One number per line, or CSV with the number in the first column; a header line is allowed and
    blank lines are skipped. Numbers without a country code are read as numbers of
    DIALER_DEFAULT_REGION (default US). Valid numbers are stored even when some rows are rejected;
    the exit status is 1 if any row was rejected.
    """
    from tqdm import tqdm

    from dialer.flows.dnc import DncFileError, import_numbers

    _check(check_campaign_id, campaign_id)
    _check(check_reason, reason)
    region = _default_region()
    engine, sessions = open_sessions()
    try:
        with tqdm(unit="number", file=sys.stderr, disable=None) as bar:
            summary = import_numbers(sessions, file, campaign_id, reason, region, _progress(bar))
    except DncFileError as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    finally:
        engine.dispose()
    click.echo(f"added: {summary.added}")
    click.echo(f"already listed: {summary.already_listed}")
    click.echo(f"rejected: {len(summary.rejected)}")
    for line, why in summary.rejected:
        click.echo(f"  line {line}: {why}")
    if summary.rejected:
        raise SystemExit(1)


@dnc.command("export")
@click.option("--campaign", "campaign_id", help="The campaign's list; by default the global list.")
@click.option("--all-lists", is_flag=True, help="Every list: the global one and every campaign's.")
@click.option("--output", type=click.File("w", encoding="utf-8", lazy=True), default="-",
              help="The CSV file to write; by default standard output.")
def export_command(campaign_id, all_lists, output):
    """Write a do-not-call list as CSV: number,campaign_id,reason,since (by number)."""
    from dialer.flows.dnc import export_numbers

    _check(check_campaign_id, campaign_id)
    if all_lists and campaign_id is not None:
        raise click.ClickException("--campaign and --all-lists exclude each other")
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    engine, sessions = open_sessions()
    try:
        with sessions() as session:
            for number, campaign, why, since in export_numbers(session, campaign_id, every_list=all_lists):
                writer.writerow((number, campaign or "", why, since))
    finally:
        engine.dispose()


def _check(check, value):
    try:
        check(value)
    except InvalidEntry as exc:
        name, reasons = next(iter(exc.fields.items()))
        option = "--campaign" if name == "campaign_id" else f"--{name}"
        raise click.ClickException(f"{option}: {'; '.join(reasons)}") from exc


def _default_region():
    region = os.environ.get("DIALER_DEFAULT_REGION", "").strip().upper() or "US"
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise click.ClickException(f"DIALER_DEFAULT_REGION must be a region code such as US or GB, "
                                   f"not {region!r}")
    return region


def _progress(bar):
    def show(done, total):
        bar.total = total
        bar.update(done - bar.n)

    return show


COMMANDS = (dnc,)
