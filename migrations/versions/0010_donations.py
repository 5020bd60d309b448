"""donors, donation offers and pairings with needs

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21 17:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OFFER_STATUSES = "status IN ('open', 'exhausted', 'withdrawn', 'expired')"
PAIRING_STATUSES = "status IN ('proposed', 'accepted', 'rejected', 'fulfilled', 'cancelled')"


def upgrade():
    op.create_table("donors",
    sa.Column("id", sa.String(length=26), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("phone", sa.String(length=20), nullable=False),
    sa.Column("organization", sa.String(length=200), nullable=True),
    sa.Column("language", sa.String(length=35), nullable=True),
    sa.Column("location", sa.String(length=500), nullable=True),
    sa.Column("lat", sa.Float(), nullable=True),
    sa.Column("lon", sa.Float(), nullable=True),
    sa.Column("created_by", sa.String(length=40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_donors")),
    sa.UniqueConstraint("phone", name=op.f("uq_donors_phone"))
    )
    op.create_table("donation_offers",
    sa.Column("id", sa.String(length=26), nullable=False),
    sa.Column("donor_id", sa.String(length=26), nullable=False),
    sa.Column("category", sa.String(length=40), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("remaining", sa.Integer(), nullable=False),
    sa.Column("unit", sa.String(length=20), nullable=False),
    sa.Column("currency", sa.String(length=3), nullable=True),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("location", sa.String(length=500), nullable=True),
    sa.Column("lat", sa.Float(), nullable=True),
    sa.Column("lon", sa.Float(), nullable=True),
    sa.Column("available_from", sa.DateTime(timezone=True), nullable=True),
    sa.Column("available_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("status", sa.String(length=10), nullable=False),
    sa.Column("created_by", sa.String(length=40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.CheckConstraint(OFFER_STATUSES, name=op.f("ck_donation_offers_status")),
    sa.CheckConstraint("quantity > 0", name=op.f("ck_donation_offers_quantity")),
    sa.CheckConstraint("remaining >= 0 AND remaining <= quantity", name=op.f("ck_donation_offers_remaining")),
    sa.ForeignKeyConstraint(["donor_id"], ["donors.id"], name=op.f("fk_donation_offers_donor_id_donors"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_donation_offers"))
    )
    with op.batch_alter_table("donation_offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_donation_offers_donor_id"), ["donor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_donation_offers_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index("ix_donation_offers_status_category", ["status", "category"], unique=False)

    op.create_table("pairings",
    sa.Column("id", sa.String(length=26), nullable=False),
    sa.Column("reference", sa.String(length=7), nullable=False),
    sa.Column("offer_id", sa.String(length=26), nullable=False),
    sa.Column("task_id", sa.String(length=26), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(length=10), nullable=False),
    sa.Column("cost", sa.Float(), nullable=True),
    sa.Column("distance_km", sa.Float(), nullable=True),
    sa.Column("reasons", sa.JSON(), nullable=False),
    sa.Column("proposed_by", sa.String(length=40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.String(length=40), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reason", sa.String(length=500), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.CheckConstraint(PAIRING_STATUSES, name=op.f("ck_pairings_status")),
    sa.CheckConstraint("quantity > 0", name=op.f("ck_pairings_quantity")),
    sa.ForeignKeyConstraint(["offer_id"], ["donation_offers.id"], name=op.f("fk_pairings_offer_id_donation_offers"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_pairings_task_id_tasks"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_pairings")),
    sa.UniqueConstraint("reference", name=op.f("uq_pairings_reference"))
    )
    with op.batch_alter_table("pairings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pairings_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index("ix_pairings_task_status", ["task_id", "status"], unique=False)



def downgrade():
    with op.batch_alter_table("pairings", schema=None) as batch_op:
        batch_op.drop_index("ix_pairings_task_status")
        batch_op.drop_index(batch_op.f("ix_pairings_offer_id"))

    op.drop_table("pairings")
    with op.batch_alter_table("donation_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_donation_offers_status_category")
        batch_op.drop_index(batch_op.f("ix_donation_offers_expires_at"))
        batch_op.drop_index(batch_op.f("ix_donation_offers_donor_id"))

    op.drop_table("donation_offers")
    op.drop_table("donors")
