"""gunicorn's settings file: gunicorn reads ./gunicorn.conf.py by itself (the Procfile's web
process and the test fleets start it from the project folder); command-line options win."""


def child_exit(server, worker):
    """A web worker exited: prometheus_client's multiprocess bookkeeping (dialer/adapters/metrics.py)."""
    from dialer.adapters.metrics import process_exited

    process_exited(worker.pid)
