"""blocking index as posting chunks: match_keys (one row per key and report) becomes
match_postings (one row per key and chunk of up to 1024 packed report numbers)

The rows are carried over, grouped by key, so no re-index is needed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 15:50:00

"""
from alembic import op
import numpy as np
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

CHUNK = 1024
BATCH = 100_000


def _chunks(key, seqs):
    for at in range(0, len(seqs), CHUNK):
        part = seqs[at:at + CHUNK]
        yield {'key_hash': key, 'seq_first': part[0], 'seqs': np.asarray(part, dtype='<i4').tobytes()}


def upgrade():
    op.create_table('match_postings',
    sa.Column('key_hash', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('seq_first', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seqs', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('key_hash', 'seq_first', name=op.f('pk_match_postings')),
    sqlite_with_rowid=False
    )
    bind = op.get_bind()
    postings = sa.table('match_postings', sa.column('key_hash'), sa.column('seq_first'),
                        sa.column('seqs', sa.LargeBinary()))
    rows = bind.execute(sa.text('SELECT key_hash, seq FROM match_keys ORDER BY key_hash, seq'))
    out, key, seqs = [], None, []
    for hashed, seq in rows:
        if hashed != key:
            if seqs:
                out.extend(_chunks(key, seqs))
            key, seqs = hashed, []
        seqs.append(seq)
        if len(out) >= BATCH:
            bind.execute(postings.insert(), out)
            out = []
    if seqs:
        out.extend(_chunks(key, seqs))
    if out:
        bind.execute(postings.insert(), out)
    op.drop_table('match_keys')


def downgrade():
    op.create_table('match_keys',
    sa.Column('key_hash', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.PrimaryKeyConstraint('key_hash', 'seq', name=op.f('pk_match_keys')),
    sqlite_with_rowid=False
    )
    bind = op.get_bind()
    keys = sa.table('match_keys', sa.column('key_hash'), sa.column('seq'))
    out = []
    for hashed, data in bind.execute(sa.text('SELECT key_hash, seqs FROM match_postings')):
        out.extend({'key_hash': hashed, 'seq': int(q)} for q in np.frombuffer(data, dtype='<i4'))
        if len(out) >= BATCH:
            bind.execute(keys.insert(), out)
            out = []
    if out:
        bind.execute(keys.insert(), out)
    op.drop_table('match_postings')
