"""Engine, sessions and migrations, built once per process (never at import, never across a fork)."""

from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def sqlalchemy_url(url):
    """DATABASE_URL as operators write it (libpq style, or Heroku's postgres://) for psycopg2."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def make_engine(url, **options):
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 5)
    options.setdefault("max_overflow", 10)
    options.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(sqlalchemy_url(url), **options)


def make_session_factory(engine):
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(session_factory):
    """A session whose work is committed on success and rolled back on any error."""
    session = session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def migrate(url, revision="head"):
    """Bring the schema at `url` up to `revision` (idempotent; safe from several processes)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
