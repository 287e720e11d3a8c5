"""Code tables as data (legal bases, insatser) and an append-only audit table.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGAL_BASES = [
    # code, law, paragraph, title, in force from, in force to
    (
        "SOL2001-4-1",
        "SoL (2001:453)",
        "4 kap. 1 §",
        "Bistånd (äldre socialtjänstlagen)",
        date(2002, 1, 1),
        date(2025, 6, 30),
    ),
    (
        "SOL2025-BISTAND",
        "SoL (2025:400)",
        "bistånd",
        "Bistånd enligt socialtjänstlagen (2025:400); paragraf ej verifierad",
        date(2025, 7, 1),
        None,
    ),
    (
        "LSS-9",
        "LSS (1993:387)",
        "9 §",
        "Insatser för särskilt stöd och service",
        date(1994, 1, 1),
        None,
    ),
]

LSS_INSATSER = [
    "rådgivning och annat personligt stöd",
    "personlig assistans",
    "ledsagarservice",
    "kontaktperson",
    "avlösarservice i hemmet",
    "korttidsvistelse utanför hemmet",
    "korttidstillsyn för skolungdom över 12 år",
    "boende i familjehem eller bostad med särskild service för barn eller ungdomar",
    "bostad med särskild service för vuxna eller annan särskilt anpassad bostad",
    "daglig verksamhet",
]

SOL_INSATSER = [
    ("SOL-HEMTJANST", "hemtjänst"),
    ("SOL-SARSKILT-BOENDE", "särskilt boende"),
    ("SOL-KORTTIDSBOENDE", "korttidsboende"),
    ("SOL-DAGVERKSAMHET", "dagverksamhet"),
    ("SOL-TRYGGHETSLARM", "trygghetslarm"),
    ("SOL-MATDISTRIBUTION", "matdistribution"),
    ("SOL-BOENDESTOD", "boendestöd"),
]

legal_basis = sa.table(
    "legal_basis",
    sa.column("code", sa.String),
    sa.column("law", sa.String),
    sa.column("paragraph", sa.String),
    sa.column("title", sa.String),
    sa.column("in_force_from", sa.Date),
    sa.column("in_force_to", sa.Date),
)
insats = sa.table(
    "insats",
    sa.column("code", sa.String),
    sa.column("framework", sa.String),
    sa.column("name", sa.String),
    sa.column("lss_point", sa.Integer),
    sa.column("elderly_or_disability", sa.Boolean),
)

APPEND_ONLY = [
    """CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_entry is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$""",
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE OR DELETE ON audit_entry
  FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
    """CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
  FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()""",
]


def upgrade() -> None:
    op.bulk_insert(
        legal_basis,
        [
            dict(
                zip(
                    ("code", "law", "paragraph", "title", "in_force_from", "in_force_to"),
                    row,
                    strict=True,
                )
            )
            for row in LEGAL_BASES
        ],
    )
    op.bulk_insert(
        insats,
        [
            {
                "code": f"LSS9-{i}",
                "framework": "lss",
                "name": name,
                "lss_point": i,
                "elderly_or_disability": True,
            }
            for i, name in enumerate(LSS_INSATSER, start=1)
        ]
        + [
            {
                "code": code,
                "framework": "sol",
                "name": name,
                "lss_point": None,
                "elderly_or_disability": True,
            }
            for code, name in SOL_INSATSER
        ],
    )
    for statement in APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_entry_no_truncate ON audit_entry")
    op.execute("DROP TRIGGER audit_entry_no_update ON audit_entry")
    op.execute("DROP FUNCTION audit_entry_append_only()")
    op.execute("DELETE FROM insats")
    op.execute("DELETE FROM legal_basis")
