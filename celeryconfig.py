"""Celery settings (DESIGN.md "Processes"). The broker is REDIS_URL; nothing connects at import."""

import os

broker_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
broker_connection_retry_on_startup = True
# Redis may restart under a running fleet: a worker retries its connection for ever instead of
# exiting after 100 attempts (the default); see also workers/broker.py.
broker_connection_retry = True
broker_connection_max_retries = None
# Redis redelivers an unacked task after this long; every task body is idempotent anyway, and
# nothing here is scheduled with ETA/countdown (retries live in PostgreSQL), so keep it short
# enough that a killed worker's task comes back soon.
broker_transport_options = {"visibility_timeout": 300}

task_serializer = "json"
accept_content = ["json"]
result_serializer = "json"
task_ignore_result = True
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
# A task running when the broker connection drops finishes its work (it needs PostgreSQL, not the
# broker); its message comes back after the visibility timeout, which is harmless. Explicit because
# Celery 6 turns this on by default.
worker_cancel_long_running_tasks_on_connection_loss = False
worker_hijack_root_logger = False
timezone = "UTC"
enable_utc = True

task_default_queue = "default"
task_queues_names = ("originate", "results", "notify", "default")
task_routes = {
    "dialer.originate": {"queue": "originate"},
    "dialer.reserve_agents": {"queue": "originate"},
    "dialer.record_events": {"queue": "results"},
    "dialer.record_inbox": {"queue": "results"},
    "dialer.connect_deadline": {"queue": "results"},
    "dialer.ask_agent_again": {"queue": "results"},
    "dialer.deliver_outbox": {"queue": "notify"},
}

_tick = float(os.environ.get("DIALER_TICK_SECONDS", "1") or 1)
_reconcile = float(os.environ.get("DIALER_RECONCILE_SECONDS", "10") or 10)
_pacing = float(os.environ.get("DIALER_PACING_SECONDS", "2") or 2)
beat_schedule = {
    "allocate": {"task": "dialer.allocate", "schedule": _tick, "options": {"expires": _tick * 2}},
    # The sweep behind the listeners' nudges: a result in the inbox is recorded even if its nudge was lost.
    "record-inbox": {"task": "dialer.record_inbox", "schedule": _tick, "options": {"expires": _tick * 2}},
    "reconcile": {"task": "dialer.reconcile", "schedule": _reconcile, "options": {"expires": _reconcile * 2}},
    "expire": {"task": "dialer.expire", "schedule": 30.0, "options": {"expires": 60}},
    "pace": {"task": "dialer.pace", "schedule": _pacing, "options": {"expires": _pacing * 2}},
    "deliver-outbox": {"task": "dialer.deliver_outbox", "schedule": 5.0, "options": {"expires": 10}},
    # Failures kept in the broker while PostgreSQL was down, into failed_tasks (workers/failures.py).
    "record-failed-tasks": {"task": "dialer.record_failed_tasks", "schedule": 30.0, "options": {"expires": 60}},
}
