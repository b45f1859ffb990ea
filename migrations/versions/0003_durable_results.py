"""durable results: the result inbox, when a call was first seen gone, per-contact message order

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE TABLE call_events (
            id BIGSERIAL NOT NULL,
            kind VARCHAR(10) NOT NULL,
            key VARCHAR(40) NOT NULL,
            source VARCHAR(10) NOT NULL,
            body JSONB NOT NULL,
            received_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
            processed_at TIMESTAMP WITH TIME ZONE,
            CONSTRAINT pk_call_events PRIMARY KEY (id),
            CONSTRAINT uq_call_events_kind_key UNIQUE (kind, key)
        )
    """)
    op.execute("CREATE INDEX ix_call_events_unprocessed ON call_events (id) WHERE processed_at IS NULL")
    op.execute("CREATE INDEX ix_call_events_processed_at ON call_events (processed_at)")
    op.execute("ALTER TABLE contacts ADD COLUMN missing_since TIMESTAMP WITH TIME ZONE")
    op.execute("ALTER TABLE contacts ADD COLUMN vc_sequence INTEGER DEFAULT 0 NOT NULL")
    op.execute("ALTER TABLE outbox ADD COLUMN sequence INTEGER DEFAULT 0 NOT NULL")
    op.execute("CREATE INDEX ix_outbox_contact_id_id_undelivered ON outbox (contact_id, id) "
               "WHERE status IN ('pending', 'dead')")


def downgrade():
    op.execute("DROP INDEX ix_outbox_contact_id_id_undelivered")
    op.execute("ALTER TABLE outbox DROP COLUMN sequence")
    op.execute("ALTER TABLE contacts DROP COLUMN vc_sequence")
    op.execute("ALTER TABLE contacts DROP COLUMN missing_since")
    op.drop_table("call_events")
