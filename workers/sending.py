"""Sending a task by name from outside a worker (`dialer tasks requeue`, the API's requeue route):
a `send_task(name, args=, kwargs=, task_id=)` for dialer.flows.failed_tasks, which may not import
Celery. Routes come from celeryconfig (workers.app's app), so a task goes to its usual queue."""

from contextlib import contextmanager

from kombu.exceptions import OperationalError

from dialer.flows.failed_tasks import BrokerUnavailable


def sender(celery_app, connection=None):
    """`celery_app.send_task`, on `connection` if given; a broker that cannot be reached raises
    BrokerUnavailable (Celery has retried the publish by then)."""

    def send_task(name, args=None, kwargs=None, task_id=None):
        try:
            celery_app.send_task(name, args=args, kwargs=kwargs, task_id=task_id, connection=connection)
        except (OperationalError, OSError) as exc:
            raise BrokerUnavailable(f"the broker did not take the task: {exc}") from exc

    return send_task


@contextmanager
def broker_sender(broker_url):
    """A send_task on the broker at `broker_url` (one connection for all it sends). The app's own
    broker_url is left alone: it may already hold a connection pool to another."""
    from workers.app import celery_app

    with celery_app.connection_for_write(broker_url) as connection:
        yield sender(celery_app, connection)
