"""dialable backlog: per-campaign dialable counts cached between beat ticks

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE UNLOGGED TABLE dialable_backlog (
            campaign_id VARCHAR(40) NOT NULL,
            dialable INTEGER NOT NULL,
            refreshed_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
            CONSTRAINT pk_dialable_backlog PRIMARY KEY (campaign_id)
        )
    """)


def downgrade():
    op.drop_table("dialable_backlog")
