from sqlalchemy import inspect, text

from dialer.adapters.db import make_engine, migrate
from dialer.adapters.embedded import drop_database, ensure_database, with_database
from tests.factories import add_contacts


def test_migrations_build_the_schema_from_an_empty_database(service_urls):
    server = with_database(service_urls["DATABASE_URL"], "postgres")
    drop_database(server, "dialer_migration_test")
    url = ensure_database(server, "dialer_migration_test")
    try:
        migrate(url)
        migrate(url)  # a second run (another process starting) changes nothing
        engine = make_engine(url)
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        engine.dispose()
    finally:
        drop_database(server, "dialer_migration_test")
    assert {"campaigns", "contacts", "call_attempts", "outbox", "dialable_backlog", "call_events"} <= tables
    assert version == "0006"


def test_dialable_contacts_are_read_by_an_index_scan_in_priority_then_fifo_order(session):
    for campaign in range(20):
        add_contacts(session, f"c{campaign}", 100)
    session.execute(text("ANALYZE contacts"))
    plan = session.execute(text(
        "EXPLAIN SELECT id FROM contacts WHERE status = 'pending' AND campaign_id = 'c1' "
        "ORDER BY priority, received_time, id LIMIT 10"
    )).scalars().all()
    assert any("ix_contacts_dialable" in line for line in plan), plan
