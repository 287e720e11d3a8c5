"""Patient identifiers as (system, value) pairs, patients known only by other systems, and the
preserved remainder of imported FHIR.

Identifiers of other systems (an MRN, a Synthea uuid) were stored as reservnummer issued by the
system, under a unique key that ignored the system: two systems' MRN 12345 became one patient.
Now every identifier besides the patient row's own Swedish one is a row of
patient_identifier, unique by (system, value); a patient known only by such identifiers has
identifier_kind 'external', and the Swedish uniqueness no longer covers those rows.

fhir_preserved keeps, per imported patient row, the FHIR elements the row cannot hold, so an
export gives them back (app/fhir/preserve.py). Lab values become unconstrained numerics, so they
keep the digits they were written with.

Revision ID: 0009_fhir
Revises: 0008_privacy
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_fhir"
down_revision: str | None = "0008_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "'personnummer', 'samordningsnummer', 'reservnummer'"
LAB_NUMBERS = ("value_numeric", "reference_low", "reference_high")
# A reservnummer "issued" by a URI: how FHIR imports stored other systems' identifiers before.
FOREIGN = "identifier_kind = 'reservnummer' AND reserve_issuer ~ '^(https?|urn):'"


def upgrade() -> None:
    op.create_table(
        "patient_identifier",
        sa.Column("system", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_patient_identifier_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system", "value", name=op.f("pk_patient_identifier")),
    )
    op.create_index("ix_patient_identifier_patient_id", "patient_identifier", ["patient_id"])
    op.create_table(
        "fhir_preserved",
        sa.Column("table_name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("elements", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_fhir_preserved_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("table_name", "row_id", name=op.f("pk_fhir_preserved")),
    )
    op.create_index("ix_fhir_preserved_patient_id", "fhir_preserved", ["patient_id"])
    op.drop_constraint(op.f("ck_patient_identifier_kind"), "patient", type_="check")
    op.create_check_constraint(
        op.f("ck_patient_identifier_kind"), "patient", f"identifier_kind IN ({KINDS}, 'external')"
    )
    op.alter_column(
        "patient",
        "identifier",
        type_=sqlmodel.sql.sqltypes.AutoString(length=200),
        existing_nullable=False,
    )
    op.drop_index("uq_patient_identifier", table_name="patient")
    op.create_index(
        "uq_patient_identifier",
        "patient",
        ["identifier_kind", "identifier"],
        unique=True,
        postgresql_where=sa.text("identifier_kind <> 'external'"),
    )
    # Lab values keep the digits they were written with (6.3 stays 6.3, not 6.300000).
    for column in LAB_NUMBERS:
        op.alter_column("lab_result", column, type_=sa.Numeric(), existing_type=sa.Numeric(18, 6))
    # Earlier FHIR imports stored another system's identifier as a reservnummer issued by the
    # system's URI: they become what they are, external identifiers (system, value).
    op.execute(
        f"INSERT INTO patient_identifier (system, value, patient_id, position) "
        f"SELECT reserve_issuer, identifier, id, 0 FROM patient WHERE {FOREIGN}"
    )
    op.execute(
        f"UPDATE patient SET identifier_kind = 'external', reserve_issuer = NULL WHERE {FOREIGN}"
    )


def downgrade() -> None:
    for column in LAB_NUMBERS:
        op.alter_column("lab_result", column, type_=sa.Numeric(18, 6), existing_type=sa.Numeric())
    # Back to the old form where it fits (a reservnummer issued by the system); patients known
    # only by longer identifiers cannot be expressed in the old schema.
    op.execute(
        "UPDATE patient p SET identifier_kind = 'reservnummer', reserve_issuer = i.system "
        "FROM patient_identifier i WHERE i.patient_id = p.id AND i.value = p.identifier "
        "AND p.identifier_kind = 'external' AND length(p.identifier) <= 20 "
        "AND length(i.system) <= 100 AND NOT EXISTS (SELECT 1 FROM patient q WHERE "
        "q.identifier_kind = 'reservnummer' AND q.identifier = p.identifier)"
    )
    op.execute("DELETE FROM patient WHERE identifier_kind = 'external'")
    op.drop_index("uq_patient_identifier", table_name="patient")
    op.create_index(
        "uq_patient_identifier", "patient", ["identifier_kind", "identifier"], unique=True
    )
    op.alter_column(
        "patient",
        "identifier",
        type_=sqlmodel.sql.sqltypes.AutoString(length=20),
        existing_nullable=False,
    )
    op.drop_constraint(op.f("ck_patient_identifier_kind"), "patient", type_="check")
    op.create_check_constraint(
        op.f("ck_patient_identifier_kind"), "patient", f"identifier_kind IN ({KINDS})"
    )
    op.drop_index("ix_fhir_preserved_patient_id", table_name="fhir_preserved")
    op.drop_table("fhir_preserved")
    op.drop_index("ix_patient_identifier_patient_id", table_name="patient_identifier")
    op.drop_table("patient_identifier")
