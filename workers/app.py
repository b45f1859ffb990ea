"""The Celery app. Task modules are listed here; resources are built per process (runtime.py)."""

from celery import Celery

celery_app = Celery("dialer", include=["workers.tasks"])
celery_app.config_from_object("celeryconfig")
