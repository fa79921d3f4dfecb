"""Loans: at most one open loan per book (a partial unique index), and a seeded author."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loan",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("book_id", sa.Integer, sa.ForeignKey("book.id"), nullable=False),
        sa.Column("returned", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "one_open_loan_per_book",
        "loan",
        ["book_id"],
        unique=True,
        postgresql_where=sa.text("NOT returned"),
    )
    op.execute("INSERT INTO author (name) VALUES ('Anonymous')")


def downgrade() -> None:
    op.drop_table("loan")
    op.execute("DELETE FROM author WHERE name = 'Anonymous'")
