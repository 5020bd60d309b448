"""reports: PFIF expiry (expiry_date, expired_at), tombstones of purged reports, deletion requests
by families, roster import jobs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 17:10:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Reports that existed before expiry: 90 days after they were created (REPORT_EXPIRY_DAYS'
# default); a coordinator can extend any of them.
_BACKFILL = {
    "postgresql": "UPDATE reports SET expiry_date = created_at + interval '90 days'",
    "sqlite": "UPDATE reports SET expiry_date = datetime(created_at, '+90 days')",
}


def upgrade():
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expiry_date", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_reports_expiry_date"), ["expiry_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_expired_at"), ["expired_at"], unique=False)
    op.execute(_BACKFILL[op.get_bind().dialect.name])

    op.create_table(
        "report_tombstones",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("source_record_id", sa.String(length=500), nullable=True),
        sa.Column("is_minor", sa.Boolean(), nullable=False),
        sa.Column("expiry_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_tombstones")),
        sa.UniqueConstraint("source_record_id", name=op.f("uq_report_tombstones_source_record_id")),
    )
    with op.batch_alter_table("report_tombstones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_tombstones_entry_date"), ["entry_date"], unique=False
        )

    op.create_table(
        "report_deletion_requests",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("report_id", sa.String(length=26), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_deletion_requests_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_deletion_requests")),
    )
    with op.batch_alter_table("report_deletion_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_deletion_requests_report_id"), ["report_id"], unique=False
        )

    op.create_table(
        "import_jobs",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("defaults", sa.JSON(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("loaded_rows", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('previewed', 'queued', 'running', 'done', 'failed')",
            name=op.f("ck_import_jobs_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )


def downgrade():
    op.drop_table("import_jobs")
    with op.batch_alter_table("report_deletion_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_deletion_requests_report_id"))
    op.drop_table("report_deletion_requests")
    with op.batch_alter_table("report_tombstones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_tombstones_entry_date"))
    op.drop_table("report_tombstones")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_expired_at"))
        batch_op.drop_index(batch_op.f("ix_reports_expiry_date"))
        batch_op.drop_column("expired_at")
        batch_op.drop_column("expiry_date")
