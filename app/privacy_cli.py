"""`vardkedja token` (development tokens for every role, fitting the demo data) and
`vardkedja audit verify` (walk the hash chain of the audit trail)."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from app.access.principal import Purpose
from app.cli import CommandError, UsageError, at_least_one, command, positive_int
from app.identifiers import (
    IdentifierError,
    detect_person_identifier_kind,
    normalize_person_identifier,
)

if TYPE_CHECKING:
    from app.audit_verify import Head, Report
    from app.settings import Settings

err = Console(stderr=True)
ROLES = ("clinician", "patient", "guardian", "proxy", "research", "system")
DEFAULT_WHO = {"clinician": "er_doctor", "patient": "tolvan", "guardian": "guardian"}
# A guardian's default child, and the demo study's client.
DEFAULT_REPRESENTED = "child"
FALLBACK_RESEARCH_CLIENT = "research-demo-client"
SYSTEM_SUBJECT = "vardkedja-dev-integration"
MAX_TOKEN_HOURS = 24 * 366  # a development token for at most a year


@dataclass(frozen=True)
class Claims:
    kind: str
    subject: str
    extra: dict[str, Any] = field(default_factory=dict)


def _demo() -> Any:
    """The seed's demo people (app/seed/demo.py), or None if the seed module is absent."""
    try:
        from app.seed import demo
    except ImportError:  # pragma: no cover - the seed module ships with the package
        return None
    return demo


def _pnr(raw: str) -> str:
    try:
        kind = detect_person_identifier_kind(raw, field="personnummer")
        return normalize_person_identifier(kind, raw, field="personnummer")
    except IdentifierError as exc:
        raise UsageError(str(exc)) from None


def _demo_person(key: str) -> Any:
    demo = _demo()
    person = demo.DEMO_PEOPLE.get(key) if demo is not None else None
    if person is None:
        known = ", ".join(sorted(demo.DEMO_PEOPLE)) if demo is not None else "none"
        raise UsageError(f"unknown demo person {key!r}; known: {known}")
    return person


def _clinician_by_hsa(hsa_id: str) -> Any:
    demo = _demo()
    for person in demo.DEMO_CLINICIANS.values() if demo is not None else ():
        if person.hsa_id == hsa_id:
            return person
    return None


def clinician_claims(args: argparse.Namespace) -> Claims:
    person = (
        _clinician_by_hsa(args.hsa_id)
        if args.hsa_id
        else _demo_person(args.who or DEFAULT_WHO["clinician"])
    )
    if person is not None and not hasattr(person, "hsa_id"):
        raise UsageError(f"{args.who!r} is a patient; use --as patient")
    hsa_id = args.hsa_id or person.hsa_id
    unit = args.unit or (person.unit_hsa_id if person else None)
    provider = args.provider or (person.provider_hsa_id if person else None)
    if not unit or not provider:
        raise UsageError("a clinician outside the demo data needs --unit and --provider HSA-ids")
    name = f"{person.given_name} {person.family_name}" if person else None
    return Claims(
        "clinician",
        hsa_id,
        {
            "name": args.name or name,
            "role": args.role or (person.role if person else None),
            "care_unit": unit,
            "care_provider": provider,
            "assignment": args.assignment,
        },
    )


def person_claims(args: argparse.Namespace, role: str) -> Claims:
    if args.personnummer:
        pnr, name = _pnr(args.personnummer), args.name
    else:
        person = _demo_person(args.who or DEFAULT_WHO[role if role != "proxy" else "guardian"])
        if not hasattr(person, "personnummer"):
            raise UsageError(f"{args.who!r} is a clinician; use --as clinician")
        pnr, name = person.personnummer, f"{person.given_name} {person.family_name}"
    if role == "patient":
        return Claims("patient", pnr, {"pnr": pnr, "name": args.name or name})
    represents = args.represents
    if represents is None and not args.personnummer:
        represents = _demo_person(DEFAULT_REPRESENTED).personnummer
    return Claims(
        "proxy",
        pnr,
        {"pnr": pnr, "name": args.name or name, "represents": represents and _pnr(represents)},
    )


def research_claims(args: argparse.Namespace) -> Claims:
    """A research token reads for one study: `--study` (its id), by default the demo study."""
    from schema.ids import encode_id

    demo = _demo()
    client = args.client_id or getattr(demo, "DEMO_RESEARCH_CLIENT_ID", FALLBACK_RESEARCH_CLIENT)
    study = args.study
    if study is None:
        if args.client_id or demo is None:
            raise UsageError("a research token needs --study (the id of one of its studies)")
        study = encode_id("ResearchStudy", demo.DEMO_STUDY_ID)
    return Claims("research", client, {"client_id": client, "study": study, "name": args.name})


def claims_for(args: argparse.Namespace) -> Claims:
    role = args.role_as
    if role == "clinician":
        return clinician_claims(args)
    if role in ("patient", "guardian", "proxy"):
        return person_claims(args, role)
    if role == "research":
        return research_claims(args)
    return Claims("system", args.client_id or SYSTEM_SUBJECT, {"name": args.name})


def _token_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="role_as", choices=ROLES, required=True, help="who you are")
    parser.add_argument("--who", help="a demo person by key (see docs/privacy.md)")
    parser.add_argument("--hsa-id", help="clinician: practitioner HSA-id")
    parser.add_argument("--unit", help="clinician: care unit HSA-id")
    parser.add_argument("--provider", help="clinician: care provider HSA-id")
    parser.add_argument(
        "--role",
        help="clinician: role (granskare reviews emergency access, verksamhetschef grants A10 "
        "exceptions)",
    )
    parser.add_argument("--assignment", help="clinician: assignment id")
    parser.add_argument("--personnummer", help="patient or guardian: personnummer")
    parser.add_argument("--represents", help="guardian/proxy: personnummer of the represented")
    parser.add_argument("--client-id", help="research or system: client id")
    parser.add_argument(
        "--study", help="research: the study the token reads for (default: the demo study)"
    )
    parser.add_argument("--name", help="display name in the audit trail")
    parser.add_argument(
        "--purpose",
        type=_purpose,
        help=f"purpose claim ({', '.join(Purpose)})",
    )
    parser.add_argument(
        "--hours", type=_hours, default=8.0, help="lifetime in hours (default 8, at most a year)"
    )


def _purpose(raw: str) -> str:
    if raw.upper() not in Purpose.__members__:
        raise argparse.ArgumentTypeError(f"{raw!r} is none of {', '.join(Purpose)}")
    return raw.upper()


def _hours(raw: str) -> float:
    try:
        hours = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of hours") from None
    if not (math.isfinite(hours) and 0 < hours <= MAX_TOKEN_HOURS):
        raise argparse.ArgumentTypeError(f"{raw!r} must be above 0 and at most {MAX_TOKEN_HOURS}")
    return hours


@command("token", "mint a development token (HS256) for a demo role", _token_args, dev_keys=False)
def token_command(args: argparse.Namespace, settings: Settings) -> int:
    from app.tokens import DevKeyError, dev_jwt_secret, mint

    claims = claims_for(args)
    try:
        settings = dev_jwt_secret(settings)
    except DevKeyError as exc:
        raise CommandError(str(exc)) from None
    token = mint(
        settings,
        kind=claims.kind,
        subject=claims.subject,
        hours=args.hours,
        purpose=args.purpose,
        **claims.extra,
    )
    print(token)
    err.print(
        f"[dim]{claims.kind} {claims.subject}; send it as 'Authorization: Bearer <token>'[/dim]",
        highlight=False,
    )
    return 0


def _audit_args(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = sub.add_parser("verify", help="check the hash chain; exit 1 on any tampering")
    verify.add_argument("--batch-size", type=at_least_one, default=5000, help="entries per query")
    verify.add_argument(
        "--checkpoint",
        type=Path,
        help="file with the heads (one per chain) of the last verified run: checked, then "
        "updated (finds entries deleted from the end); keep it outside the database server",
    )
    maintain = sub.add_parser(
        "maintain", help="create month partitions ahead, move entries out of the default one"
    )
    maintain.add_argument(
        "--months-ahead", type=positive_int, default=2, help="partitions to create ahead"
    )
    archive = sub.add_parser(
        "archive",
        help="verify, write the months before --before to a file, record the cut, drop them",
    )
    archive.add_argument(
        "--before", type=_month, required=True, help="first month to keep, YYYY-MM (UTC)"
    )
    archive.add_argument(
        "--to", type=Path, required=True, help="folder for the archive file and its .sha256"
    )
    archive.add_argument("--batch-size", type=at_least_one, default=5000, help="entries per query")


def _month(raw: str) -> datetime:
    try:
        return datetime.strptime(raw, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a month YYYY-MM") from None


@command("audit", "work with the audit trail (verify, maintain, archive)", _audit_args)
def audit_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.audit_command == "maintain":
        return _audit_maintain(args, settings)
    if args.audit_command == "archive":
        return _audit_archive(args, settings)
    from app.runtime import open_database

    checkpoint_file: Path | None = args.checkpoint
    checkpoint = _read_checkpoint(checkpoint_file) if checkpoint_file is not None else None
    keys = _required_keys(settings)
    with open_database(settings) as db:
        report = asyncio.run(verify_database(db.url, keys, args.batch_size, checkpoint))
    for problem in report.problems:
        print(f"{problem.kind}: entry {problem.entry_id}: {problem.detail}", file=sys.stderr)
    if not report.ok:
        print(f"audit chain BROKEN: {len(report.problems)} problem(s) in {report.checked} entries")
        return 1
    chains = f"{len(report.heads)} chain(s), newest head {report.head or 'none'}"
    archived = f"; {len(report.cuts)} chain(s) start at an archive cut" if report.cuts else ""
    print(f"audit chain ok: {report.checked} entries in {chains}{archived}")
    if checkpoint_file is not None and report.heads:
        checkpoint_file.write_text(report.checkpoint())
    return 0


def _required_keys(settings: Settings) -> list[bytes]:
    if not settings.audit_key:
        raise CommandError(
            "no audit key: set VARDKEDJA_AUDIT_KEY (the key the server chains with), or a"
            " writable VARDKEDJA_DATA_DIR with its development key"
        )
    return audit_keys(settings)


def _audit_maintain(args: argparse.Namespace, settings: Settings) -> int:
    from app.audit_partitions import maintain
    from app.db import in_transaction
    from app.runtime import open_database

    with open_database(settings) as db:
        done = asyncio.run(
            in_transaction(db.url, lambda conn: maintain(conn, months_ahead=args.months_ahead))
        )
    print(f"created {', '.join(done.created) or 'no partitions'}; moved {done.moved} entries")
    return 0


def _audit_archive(args: argparse.Namespace, settings: Settings) -> int:
    from app.audit_archive import archive
    from app.db import in_transaction
    from app.runtime import open_database

    folder: Path = args.to
    if not folder.is_dir():
        raise UsageError(f"--to {folder} is not a folder")
    keys = _required_keys(settings)
    with open_database(settings) as db:
        done = asyncio.run(
            in_transaction(
                db.url,
                lambda conn: archive(conn, keys, args.before, folder, batch_size=args.batch_size),
            )
        )
    if not done.partitions:
        print(f"nothing to archive before {args.before:%Y-%m}")
        return 0
    print(
        f"archived {done.entries} entries of {', '.join(done.partitions)} to {done.file}"
        f" (sha256 {done.sha256}); the partitions are dropped"
    )
    return 0


def audit_keys(settings: Settings) -> list[bytes]:
    """The audit keys in the order they were used: the earlier ones, then the current one."""
    earlier = [k.strip() for k in (settings.audit_previous_keys or "").split(",") if k.strip()]
    return [k.encode() for k in earlier] + [(settings.audit_key or "").encode()]


def _read_checkpoint(path: Path) -> list[Head] | None:
    """The heads in a checkpoint file (None when there is no file yet); checked before the
    database is opened, and writable, since it is updated after a good run."""
    from app.audit_verify import Head

    if path.is_dir():
        raise UsageError(f"--checkpoint {path} is a folder; give a file")
    if not path.parent.is_dir():
        raise UsageError(f"--checkpoint {path}: folder {path.parent} does not exist")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise CommandError(f"checkpoint {path} cannot be written (permission denied)")
    if not path.exists():
        return None
    try:
        raw = path.read_text(encoding="utf-8")
        return Head.parse_all(raw)
    except UnicodeDecodeError:
        raise CommandError(f"checkpoint {path} is not a text file") from None
    except ValueError:
        raise CommandError(
            f"checkpoint {path} is damaged: each line must be chain:id:hash"
        ) from None


async def verify_database(
    url: str, key: bytes | list[bytes], batch_size: int, checkpoint: list[Head] | None
) -> Report:
    """Verify the chain in one read-only snapshot (entries appended meanwhile wait)."""
    from sqlalchemy import text

    from app.audit_verify import verify_chain
    from app.db import create_engine

    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            return await verify_chain(conn, key, batch_size=batch_size, checkpoint=checkpoint)
    finally:
        await engine.dispose()
