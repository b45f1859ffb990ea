"""failed tasks: Celery tasks that failed for good, kept with their arguments to be requeued

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE TABLE failed_tasks (
            id BIGSERIAL NOT NULL,
            task_id VARCHAR(200) NOT NULL,
            name VARCHAR(200) NOT NULL,
            args JSONB DEFAULT '[]'::jsonb NOT NULL,
            kwargs JSONB DEFAULT '{}'::jsonb NOT NULL,
            exception VARCHAR(1000) DEFAULT '' NOT NULL,
            traceback TEXT DEFAULT '' NOT NULL,
            failed_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
            status VARCHAR(10) DEFAULT 'failed' NOT NULL,
            requeued_at TIMESTAMP WITH TIME ZONE,
            requeue_task_id VARCHAR(200),
            CONSTRAINT pk_failed_tasks PRIMARY KEY (id),
            CONSTRAINT uq_failed_tasks_task_id UNIQUE (task_id),
            CONSTRAINT ck_failed_tasks_status CHECK (status IN ('failed', 'requeued', 'discarded'))
        )
    """)
    op.execute("CREATE INDEX ix_failed_tasks_failed_at ON failed_tasks (failed_at)")


def downgrade():
    op.drop_table("failed_tasks")
