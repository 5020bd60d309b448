"""sms: contacts (language, opt-out), the outbox, inbound messages, consent requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 14:47:44

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sms_contacts',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('open_report_id', sa.String(length=26), nullable=True),
    sa.Column('open_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['open_report_id'], ['reports.id'], name=op.f('fk_sms_contacts_open_report_id_reports'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_contacts')),
    sa.UniqueConstraint('phone', name=op.f('uq_sms_contacts_phone'))
    )
    with op.batch_alter_table('sms_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_contacts_open_report_id'), ['open_report_id'], unique=False)

    op.create_table('sms_inbound',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=26), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('command', sa.String(length=20), nullable=True),
    sa.Column('report_id', sa.String(length=26), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['sms_contacts.id'], name=op.f('fk_sms_inbound_contact_id_sms_contacts')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_sms_inbound_report_id_reports'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_inbound')),
    sa.UniqueConstraint('message_sid', name=op.f('uq_sms_inbound_message_sid'))
    )
    with op.batch_alter_table('sms_inbound', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_inbound_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_inbound_report_id'), ['report_id'], unique=False)

    op.create_table('sms_outbox',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('contact_id', sa.String(length=26), nullable=False),
    sa.Column('to_phone', sa.String(length=20), nullable=False),
    sa.Column('template', sa.String(length=60), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('encoding', sa.String(length=5), nullable=False),
    sa.Column('segments', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unconfirmed_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('validity_s', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'expired')", name=op.f('ck_sms_outbox_status')),
    sa.ForeignKeyConstraint(['contact_id'], ['sms_contacts.id'], name=op.f('fk_sms_outbox_contact_id_sms_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_sms_outbox_dedupe_key'))
    )
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_outbox_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_outbox_provider_sid'), ['provider_sid'], unique=False)
        batch_op.create_index('ix_sms_outbox_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)

    op.create_table('sms_consent_requests',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('match_id', sa.String(length=26), nullable=False),
    sa.Column('report_id', sa.String(length=26), nullable=True),
    sa.Column('contact_id', sa.String(length=26), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'granted', 'refused')", name=op.f('ck_sms_consent_requests_status')),
    sa.ForeignKeyConstraint(['contact_id'], ['sms_contacts.id'], name=op.f('fk_sms_consent_requests_contact_id_sms_contacts')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_sms_consent_requests_report_id_reports'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_consent_requests')),
    sa.UniqueConstraint('code', name=op.f('uq_sms_consent_requests_code'))
    )
    with op.batch_alter_table('sms_consent_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_consent_requests_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_consent_requests_match_id'), ['match_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_consent_requests_report_id'), ['report_id'], unique=False)



def downgrade():
    with op.batch_alter_table('sms_consent_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_consent_requests_report_id'))
        batch_op.drop_index(batch_op.f('ix_sms_consent_requests_match_id'))
        batch_op.drop_index(batch_op.f('ix_sms_consent_requests_contact_id'))

    op.drop_table('sms_consent_requests')
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_outbox_status_next_attempt_at')
        batch_op.drop_index(batch_op.f('ix_sms_outbox_provider_sid'))
        batch_op.drop_index(batch_op.f('ix_sms_outbox_contact_id'))

    op.drop_table('sms_outbox')
    with op.batch_alter_table('sms_inbound', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_inbound_report_id'))
        batch_op.drop_index(batch_op.f('ix_sms_inbound_contact_id'))

    op.drop_table('sms_inbound')
    with op.batch_alter_table('sms_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_contacts_open_report_id'))

    op.drop_table('sms_contacts')
