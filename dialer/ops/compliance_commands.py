"""`dialer abandonment [CAMPAIGN]`: the abandonment ledger as the evidence a compliance officer keeps."""

import click
from sqlalchemy import text

from dialer.ops.sessions import open_sessions

PREDICTIVE_CAMPAIGNS_SQL = text("SELECT DISTINCT campaign_id FROM predictive_calls ORDER BY campaign_id")


@click.command("abandonment")
@click.argument("campaign_id", required=False)
def abandonment_command(campaign_id):
    """Abandoned calls of predictive campaigns (or CAMPAIGN_ID only) over the last 30 days and the
    last 24 hours, over the calls answered by a person (the regulators' measure), from the ledger."""
    from datetime import UTC, datetime

    from dialer.flows.pacing import ledger_rates

    engine, sessions = open_sessions()
    try:
        with sessions() as session:
            campaigns = [campaign_id] if campaign_id else session.execute(PREDICTIVE_CAMPAIGNS_SQL).scalars().all()
            now = datetime.now(UTC)
            rows = [(c, ledger_rates(session, c, now)) for c in campaigns]
    finally:
        engine.dispose()
    if not rows:
        click.echo("no predictive calls in the ledger")
        return
    click.echo(f"as of {now.isoformat(timespec='seconds')}; rate = abandoned / answered by a person")
    click.echo(f"{'campaign':20} {'30d answered':>12} {'abandoned':>9} {'rate':>7}   {'24h answered':>12} "
               f"{'abandoned':>9} {'rate':>7}")
    for campaign, rates in rows:
        cells = []
        for window in ("30d", "24h"):
            answered, abandoned, rate = rates[window]
            cells.append(f"{answered:>12} {abandoned:>9} {'-' if rate is None else f'{rate:.2%}':>7}")
        click.echo(f"{campaign:20} {cells[0]}   {cells[1]}")


COMMANDS = (abandonment_command,)
