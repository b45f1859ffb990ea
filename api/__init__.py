"""The HTTP API: `create_app()` builds it in small named steps."""

import logging

import redis
from flask import Flask

from api.auth import check_token
from api.errors import register_error_handlers
from api.extensions import db
from api.json_provider import DialerJSONProvider
from api.openapi import register_openapi
from api.sessions import configure_sessions
from dialer.adapters.db import sqlalchemy_url
from dialer.adapters.switches import SwitchConnections
from dialer.config import load_settings


def create_app(settings=None, celery=None):
    settings = settings or load_settings()
    app = Flask(__name__, static_folder=None)  # the dashboard serves its files itself, public (api/dashboard.py)
    app.json = DialerJSONProvider(app)
    app.config.update(
        DIALER_SETTINGS=settings,
        SQLALCHEMY_DATABASE_URI=sqlalchemy_url(settings.database_url),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"connect_timeout": 3}},
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
    )
    app.json.sort_keys = False
    configure_sessions(app, settings)
    db.init_app(app)
    app.extensions["dialer_celery"] = celery or _celery_app(settings)
    app.extensions["dialer_switches"] = SwitchConnections(settings.switches)
    app.extensions["dialer_redis"] = redis.Redis.from_url(settings.redis_url, socket_timeout=2,
                                                          socket_connect_timeout=2)
    register_error_handlers(app)
    app.before_request(check_token)
    register_blueprints(app)
    register_openapi(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return app


def register_blueprints(app):
    from api import calls, campaigns, cdr, connector, contacts, controls, dashboard, dnc, health, settings, tasks

    for module in (health, contacts, campaigns, controls, calls, connector, cdr, dnc, settings, tasks, dashboard):
        app.register_blueprint(module.blueprint)


def _celery_app(settings):
    """Only to enqueue tasks by name; the web process never runs them."""
    from workers.app import celery_app

    celery_app.conf.broker_url = settings.redis_url
    return celery_app
