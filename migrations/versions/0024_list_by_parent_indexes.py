"""Indexes for the lists read by their parent: a care contact's diagnoses and documents, a
municipal decision's implementation plans.

Each such list is read by (patient_id, parent id); without an index leading with both, the
list of one contact was found by scanning every diagnosis of the patient (33 filtered per
contact for Tolvan in EmergencyOverview, for each of its ten contacts) and a decision's plans
by scanning the patient's. The planner's statements, the loaders and PostGraphile's
equivalents all read these lists this way (docs/performance.md).

Revision ID: 0024_list_by_parent_indexes
Revises: 0023_audit_append
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_list_by_parent_indexes"
down_revision: str | None = "0023_audit_append"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("diagnosis", "care_contact_id"),
    ("care_document", "care_contact_id"),
    ("implementation_plan", "decision_id"),
)


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_patient_{column}", table, ["patient_id", column])


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        op.drop_index(f"ix_{table}_patient_{column}", table_name=table)
