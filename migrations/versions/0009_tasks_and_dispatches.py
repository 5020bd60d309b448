"""tasks (needs) with their history, and dispatches: SMS offers with reply codes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 17:20:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TASK_STATUSES = "status IN ('open', 'offered', 'assigned', 'in_progress', 'done', 'cancelled')"
TASK_SOURCES = "source IN ('coordinator', 'match', 'shelter')"
DISPATCH_STATUSES = (
    "status IN ('offered', 'accepted', 'started', 'done', 'declined', 'expired', 'released', "
    "'withdrawn', 'cancelled')"
)


def upgrade():
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("match_id", sa.String(length=26), nullable=True),
        sa.Column("report_id", sa.String(length=26), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("preferred_skills", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("radius_km", sa.Float(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("people", sa.SmallInteger(), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("involves_minor", sa.Boolean(), nullable=False),
        sa.Column("supply_category", sa.String(length=40), nullable=True),
        sa.Column("supply_quantity", sa.Integer(), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("rounds", sa.SmallInteger(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation", sa.String(length=60), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(TASK_STATUSES, name=op.f("ck_tasks_status")),
        sa.CheckConstraint(TASK_SOURCES, name=op.f("ck_tasks_source")),
        sa.CheckConstraint("people >= 1", name=op.f("ck_tasks_people")),
        sa.CheckConstraint("priority BETWEEN 1 AND 5", name=op.f("ck_tasks_priority")),
        sa.CheckConstraint(
            "supply_quantity IS NULL OR supply_quantity > 0", name=op.f("ck_tasks_supply_quantity")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_tasks_report_id_reports"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("match_id", name=op.f("uq_tasks_match_id")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_status_priority", ["status", "priority"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_report_id"), ["report_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_supply_category"), ["supply_category"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_escalated_at"), ["escalated_at"], unique=False)

    op.create_table(
        "task_events",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("task_id", sa.String(length=26), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=True),
        sa.Column("volunteer_id", sa.String(length=26), nullable=True),
        sa.Column("dispatch_id", sa.String(length=26), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_events_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_task_events_volunteer_id_volunteers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_events")),
    )
    with op.batch_alter_table("task_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_events_task_id"), ["task_id"], unique=False)

    op.create_table(
        "dispatches",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("task_id", sa.String(length=26), nullable=False),
        sa.Column("volunteer_id", sa.String(length=26), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("round", sa.SmallInteger(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("outbox_id", sa.String(length=26), nullable=True),
        sa.Column("reason", sa.String(length=60), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(DISPATCH_STATUSES, name=op.f("ck_dispatches_status")),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_dispatches_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_dispatches_volunteer_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatches")),
        sa.UniqueConstraint("volunteer_id", "code", name="uq_dispatches_volunteer_code"),
    )
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.create_index("ix_dispatches_task_status", ["task_id", "status"], unique=False)
        batch_op.create_index(
            "ix_dispatches_status_expires_at", ["status", "expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dispatches_volunteer_id"), ["volunteer_id"], unique=False)

    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volunteers_updated_at"), ["updated_at"], unique=False)


def downgrade():
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volunteers_updated_at"))
    op.drop_table("dispatches")
    op.drop_table("task_events")
    op.drop_table("tasks")
