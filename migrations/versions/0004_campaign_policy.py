"""campaign policy: versioned settings, do-not-call lists, calling windows, dispositions, retries

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE TABLE campaign_settings (
            campaign_id VARCHAR(40) NOT NULL,
            version INTEGER NOT NULL,
            settings JSONB NOT NULL,
            created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
            CONSTRAINT pk_campaign_settings PRIMARY KEY (campaign_id, version)
        )
    """)
    op.execute("ALTER TABLE campaigns ADD COLUMN settings_version INTEGER")
    op.execute("""
        CREATE TABLE dnc_numbers (
            number VARCHAR(20) NOT NULL,
            campaign_id VARCHAR(40) DEFAULT '' NOT NULL,
            reason VARCHAR(200) DEFAULT '' NOT NULL,
            created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
            CONSTRAINT pk_dnc_numbers PRIMARY KEY (number, campaign_id)
        )
    """)
    op.execute("""
        CREATE TABLE calling_windows (
            campaign_id VARCHAR(40) NOT NULL,
            zone_key TEXT NOT NULL,
            open_until TIMESTAMP WITH TIME ZONE,
            changes_at TIMESTAMP WITH TIME ZONE,
            settings_version INTEGER,
            CONSTRAINT pk_calling_windows PRIMARY KEY (campaign_id, zone_key)
        )
    """)
    for column in ("timezone VARCHAR(64)", "zone_key TEXT DEFAULT '' NOT NULL", "e164 VARCHAR(24)",
                   "disposition VARCHAR(20)", "disposition_counts JSONB DEFAULT '{}'::jsonb NOT NULL"):
        op.execute(f"ALTER TABLE contacts ADD COLUMN {column}")
    # Contacts from before: zone unknown ('' = the campaign's fallback zone), windows worked out by the tick.
    op.execute("INSERT INTO calling_windows (campaign_id, zone_key) SELECT DISTINCT campaign_id, '' FROM contacts")
    op.execute("CREATE INDEX ix_contacts_dialable_zone ON contacts (campaign_id, zone_key, priority, "
               "received_time, id) WHERE status = 'pending'")
    for column in ("settings_version INTEGER", "disposition VARCHAR(20)", "number VARCHAR(24)"):
        op.execute(f"ALTER TABLE call_attempts ADD COLUMN {column}")
    op.execute("CREATE INDEX ix_call_attempts_number_created_at ON call_attempts (number, created_at)")


def downgrade():
    op.execute("DROP INDEX ix_call_attempts_number_created_at")
    for column in ("settings_version", "disposition", "number"):
        op.execute(f"ALTER TABLE call_attempts DROP COLUMN {column}")
    op.execute("DROP INDEX ix_contacts_dialable_zone")
    for column in ("timezone", "zone_key", "e164", "disposition", "disposition_counts"):
        op.execute(f"ALTER TABLE contacts DROP COLUMN {column}")
    op.drop_table("calling_windows")
    op.drop_table("dnc_numbers")
    op.execute("ALTER TABLE campaigns DROP COLUMN settings_version")
    op.drop_table("campaign_settings")
