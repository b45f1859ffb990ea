"""Failed tasks: `dialer tasks list|requeue|discard` (dialer.flows.failed_tasks).

A requeue sends through Celery, which nothing in dialer/ imports: the sender lives in workers/
(SENDER, named here as the Procfile names `workers.app`) and is loaded only when a requeue runs.
The broker is REDIS_URL, else the embedded Redis that `make run` uses.
"""

import importlib
import json
import os
from contextlib import contextmanager
from datetime import UTC, datetime

import click

from dialer.ops.sessions import open_sessions
from dialer.rules.failed_tasks import STATUSES, parse_since

SENDER = "workers.sending:broker_sender"  # broker_sender(url): a context manager giving send_task


@click.group("tasks")
def tasks():
    """Celery tasks that failed for good: list them, send them again, discard them."""


@tasks.command("list")
@click.option("--name", help="Only this task, e.g. dialer.originate.")
@click.option("--since", help="Failed since: a duration back from now (30m, 1h, 2d) or an ISO-8601 time.")
@click.option("--status", type=click.Choice([*STATUSES, "all"]), default="failed", show_default=True,
              help="failed: still waiting for a decision.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON (with tracebacks) instead of lines.")
def list_command(name, since, status, limit, as_json):
    """List failed tasks, newest first."""
    from dialer.flows.failed_tasks import list_failed

    moment = _since(since)
    engine, sessions = open_sessions()
    try:
        with sessions() as session:
            rows = list_failed(session, name=name, since=moment, status=None if status == "all" else status,
                               limit=limit)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no failed tasks")
    for row in rows:
        again = f" as {row['requeue_task_id']}" if row["requeue_task_id"] else ""
        click.echo(f"{row['id']}  {row['failed_at']}  {row['name']}  {row['status']}{again}  task {row['task_id']}")
        click.echo(f"    args={json.dumps(row['args'])} kwargs={json.dumps(row['kwargs'])}")
        click.echo(f"    {row['exception']}")


@tasks.command("requeue")
@click.argument("failed_id", metavar="ID", required=False)
@click.option("--all", "every", is_flag=True, help="Every failed task still waiting (oldest first).")
@click.option("--name", help="With --all: only this task.")
def requeue_command(failed_id, every, name):
    """Send failed task ID again (same task, same arguments, a new task id), or --all of them."""
    from dialer.flows.failed_tasks import requeue, requeue_all

    if (failed_id is None) != every:
        raise click.ClickException("give the ID of a failed task, or --all")
    if name and not every:
        raise click.ClickException("--name goes with --all")
    target = None if every else _id(failed_id)
    with _operation() as session, _sender() as send:
        if every:
            rows = requeue_all(session, send, name=name)
            click.echo(f"requeued {len(rows)} task(s)")
        else:
            rows = [requeue(session, target, send)]
    for row in rows:
        click.echo(f"failed task {row['id']} ({row['name']}) requeued as task {row['requeue_task_id']}")


@tasks.command("discard")
@click.argument("failed_id", metavar="ID")
def discard_command(failed_id):
    """Mark failed task ID discarded: it will not be sent again."""
    from dialer.flows.failed_tasks import discard

    target = _id(failed_id)
    with _operation() as session:
        row = discard(session, target)
    click.echo(f"failed task {row['id']} ({row['name']}) discarded")


@contextmanager
def _operation():
    """A session for one requeue or discard; the flow's refusals become a message and exit 1."""
    from dialer.flows.failed_tasks import BrokerUnavailable, NotFailed, UnknownFailedTask

    engine, sessions = open_sessions()
    try:
        with sessions() as session:
            yield session
    except (UnknownFailedTask, NotFailed) as exc:
        raise click.ClickException(str(exc)) from exc
    except BrokerUnavailable as exc:
        raise click.ClickException(f"{exc} (what was not sent is still failed: try again)") from exc
    finally:
        engine.dispose()


def _sender():
    module, name = SENDER.split(":")
    return getattr(importlib.import_module(module), name)(_broker_url())


def _broker_url():
    if not os.environ.get("REDIS_URL", "").strip():
        from dialer.adapters.embedded import apply_embedded_defaults

        apply_embedded_defaults(os.environ)
    return os.environ["REDIS_URL"]


def _since(text):
    if text is None:
        return None
    try:
        return parse_since(text, datetime.now(UTC))
    except ValueError as exc:
        raise click.ClickException(f"--since: {exc}") from exc


def _id(text):
    if not text.strip().isdigit():
        raise click.ClickException(f"{text!r} is not the ID of a failed task (a number: see `dialer tasks list`)")
    return int(text)


COMMANDS = (tasks,)
