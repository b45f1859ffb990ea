"""Alembic environment: online migrations against the URL the dialer passes in."""

from alembic import context
from sqlalchemy import create_engine, pool, text

from dialer.adapters.models import Base

config = context.config
target_metadata = Base.metadata

# One migrator at a time: web, worker and the CLI may all start together.
MIGRATION_LOCK = 7_364_001


def run_migrations_online():
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
