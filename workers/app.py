"""The Celery app. Task modules are listed here; resources are built per process (runtime.py)."""

from celery import Celery

from workers import broker

broker.install()  # kombu's Redis transport with the fix that keeps a worker alive when Redis restarts
celery_app = Celery("dialer", include=["workers.tasks", "workers.failures"])
celery_app.config_from_object("celeryconfig")
