"""predictive dialing: the abandonment ledger (one row per predictive call) and each campaign's pacing

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE TABLE predictive_calls (
            uuid VARCHAR(40) NOT NULL,
            contact_id VARCHAR(40) NOT NULL,
            campaign_id VARCHAR(40) NOT NULL,
            dialed_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
            answered_at TIMESTAMP WITH TIME ZONE,
            answered_by VARCHAR(10),
            held_at TIMESTAMP WITH TIME ZONE,
            deadline_at TIMESTAMP WITH TIME ZONE,
            connected_at TIMESTAMP WITH TIME ZONE,
            abandoned_at TIMESTAMP WITH TIME ZONE,
            ended_at TIMESTAMP WITH TIME ZONE,
            state VARCHAR(12) DEFAULT 'dialed' NOT NULL,
            outcome VARCHAR(20),
            agent VARCHAR(20),
            CONSTRAINT pk_predictive_calls PRIMARY KEY (uuid)
        )
    """)
    op.execute("CREATE INDEX ix_predictive_calls_campaign_id_dialed_at ON predictive_calls (campaign_id, dialed_at)")
    op.execute("CREATE INDEX ix_predictive_calls_held ON predictive_calls (deadline_at) WHERE state = 'held'")
    op.execute("""
        CREATE TABLE campaign_pacing (
            campaign_id VARCHAR(40) NOT NULL,
            mode VARCHAR(12) NOT NULL,
            calls_target INTEGER NOT NULL,
            dial_ratio FLOAT NOT NULL,
            reason VARCHAR(200) DEFAULT '' NOT NULL,
            agents_ready INTEGER,
            computed_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
            CONSTRAINT pk_campaign_pacing PRIMARY KEY (campaign_id)
        )
    """)


def downgrade():
    op.drop_table("campaign_pacing")
    op.drop_table("predictive_calls")
