"""The database the operator commands work on: DATABASE_URL, else the embedded PostgreSQL."""

import os

from dialer.adapters.db import make_engine, make_session_factory, migrate


def database_url(environ=None):
    """DATABASE_URL, which is all `import` and `status` need (not the fleet's other settings).

    Without one, the embedded PostgreSQL is started (or found running) and migrated, as `make run` does.
    """
    env = os.environ if environ is None else environ
    if not env.get("DATABASE_URL", "").strip():
        from dialer.adapters.embedded import apply_embedded_defaults

        apply_embedded_defaults(env)
        migrate(env["DATABASE_URL"])
    return env["DATABASE_URL"]


def open_sessions():
    """An engine on DATABASE_URL and its session factory; dispose the engine when done."""
    engine = make_engine(database_url(), pool_size=1, max_overflow=0)
    return engine, make_session_factory(engine)
