"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 11:40:23.759526
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaigns',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=20), server_default='running', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('contact_id', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    op.create_index(op.f('ix_outbox_contact_id'), 'outbox', ['contact_id'], unique=False)
    op.create_index('ix_outbox_due', 'outbox', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_table('contacts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('customer_number', sa.String(length=20), nullable=False),
    sa.Column('campaign_type', sa.String(length=20), nullable=False),
    sa.Column('gateway_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('call_result', sa.String(length=40), nullable=True),
    sa.Column('received_time', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('dial_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('campaign_contact_id', sa.String(length=40), nullable=True),
    sa.Column('campaign_id', sa.String(length=40), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('priority', sa.SmallInteger(), nullable=False),
    sa.Column('ivr', sa.String(length=20), nullable=True),
    sa.Column('dialing_mode', sa.String(length=20), nullable=True),
    sa.Column('routing_mode', sa.String(length=20), nullable=True),
    sa.Column('resource_id', sa.String(length=40), nullable=True),
    sa.Column('queue_name', sa.String(length=40), nullable=True),
    sa.Column('scheduled_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('service_identifier', sa.String(length=40), nullable=True),
    sa.Column('customer_ref', sa.String(length=40), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('dial_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('switch_name', sa.String(length=40), nullable=True),
    sa.Column('call_uuid', sa.String(length=40), nullable=True),
    sa.Column('agent', sa.String(length=20), nullable=True),
    sa.Column('agent_queue', sa.String(length=40), nullable=True),
    sa.Column('answer_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hangup_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('billsec', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_contacts_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    op.create_index('ix_contacts_campaign_status', 'contacts', ['campaign_id', 'status'], unique=False)
    op.create_index('ix_contacts_claimed_at', 'contacts', ['claimed_at'], unique=False)
    op.create_index('ix_contacts_dialable', 'contacts', ['campaign_id', 'priority', 'received_time', 'id'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_contacts_end_time_pending', 'contacts', ['end_time'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_contacts_in_flight', 'contacts', ['status', 'status_changed_at'], unique=False, postgresql_where=sa.text("status IN ('queued', 'agent_pending', 'dialed')"))
    op.create_table('call_attempts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('contact_id', sa.String(length=40), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=40), nullable=False),
    sa.Column('job_uuid', sa.String(length=40), nullable=False),
    sa.Column('switch_name', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('agent', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('dial_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hangup_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hangup_cause', sa.String(length=40), nullable=True),
    sa.Column('billsec', sa.Integer(), nullable=True),
    sa.Column('sip_term_status', sa.String(length=10), nullable=True),
    sa.Column('job_status', sa.String(length=10), nullable=True),
    sa.Column('result_source', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_call_attempts_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_attempts')),
    sa.UniqueConstraint('job_uuid', name=op.f('uq_call_attempts_job_uuid')),
    sa.UniqueConstraint('uuid', name=op.f('uq_call_attempts_uuid'))
    )
    op.create_index(op.f('ix_call_attempts_contact_id'), 'call_attempts', ['contact_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_call_attempts_contact_id'), table_name='call_attempts')
    op.drop_table('call_attempts')
    op.drop_index('ix_contacts_in_flight', table_name='contacts', postgresql_where=sa.text("status IN ('queued', 'agent_pending', 'dialed')"))
    op.drop_index('ix_contacts_end_time_pending', table_name='contacts', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_contacts_dialable', table_name='contacts', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_contacts_claimed_at', table_name='contacts')
    op.drop_index('ix_contacts_campaign_status', table_name='contacts')
    op.drop_table('contacts')
    op.drop_index('ix_outbox_due', table_name='outbox', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index(op.f('ix_outbox_contact_id'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('campaigns')
