"""compact blocking index: integer report numbers, kind in the key hash, shortlist fields

The index is derived data: this migration empties it. Run `flask matching reindex` afterwards
to file every report again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 12:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('match_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_match_keys_lookup')
    op.drop_table('match_keys')
    op.drop_table('match_key_counts')
    op.drop_table('match_profiles')

    op.create_table('match_profiles',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('report_id', sa.String(length=26), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('age_low', sa.SmallInteger(), nullable=True),
    sa.Column('age_high', sa.SmallInteger(), nullable=True),
    sa.Column('sex', sa.String(length=10), nullable=True),
    sa.Column('places', sa.JSON(), nullable=False),
    sa.Column('words', sa.Text(), nullable=False),
    sa.Column('hashes', sa.LargeBinary(), nullable=False),
    sa.Column('indexed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_match_profiles_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_match_profiles')),
    sa.UniqueConstraint('report_id', name=op.f('uq_match_profiles_report_id'))
    )
    op.create_table('match_keys',
    sa.Column('key_hash', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.PrimaryKeyConstraint('key_hash', 'seq', name=op.f('pk_match_keys')),
    sqlite_with_rowid=False
    )
    op.create_table('match_key_counts',
    sa.Column('key_hash', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_match_key_counts'))
    )
    # The name-word counts describe the index just emptied.
    op.execute(sa.text('DELETE FROM name_token_counts'))


def downgrade():
    op.drop_table('match_key_counts')
    op.drop_table('match_keys')
    op.drop_table('match_profiles')
    op.execute(sa.text('DELETE FROM name_token_counts'))

    op.create_table('match_key_counts',
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('key_hash', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'key_hash', name=op.f('pk_match_key_counts'))
    )
    op.create_table('match_keys',
    sa.Column('report_id', sa.String(length=26), nullable=False),
    sa.Column('key_hash', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_match_keys_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'key_hash', name=op.f('pk_match_keys'))
    )
    with op.batch_alter_table('match_keys', schema=None) as batch_op:
        batch_op.create_index('ix_match_keys_lookup', ['kind', 'key_hash', 'report_id'], unique=False)
    op.create_table('match_profiles',
    sa.Column('report_id', sa.String(length=26), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('places', sa.JSON(), nullable=False),
    sa.Column('name_words', sa.JSON(), nullable=False),
    sa.Column('indexed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_match_profiles_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_match_profiles'))
    )
