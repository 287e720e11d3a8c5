"""Pseudonyms for research (A15): HMAC-SHA256 of the patient id under a configured key.

The same patient gets the same pseudonym within one scope (a research study: `study:<id>`), so
a study can follow a patient over time, but two studies (even of the same research client)
cannot link their data sets, and nobody without the key can go back from a pseudonym to the
patient.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

PREFIX = "psn_"


def pseudonym(key: bytes, scope: str, patient_id: uuid.UUID) -> str:
    """A stable, non-reversible pseudonym of `patient_id` for `scope` (26 base32 characters)."""
    if not key:
        raise ValueError("pseudonyms need a key: set VARDKEDJA_PSEUDONYM_KEY")
    digest = hmac.new(key, f"{scope}\x00{patient_id}".encode(), hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest[:16]).decode().rstrip("=").lower()


def text_pseudonym(key: bytes, scope: str, value: str) -> str:
    """A stable, non-reversible pseudonym of any other identifier (an HSA-id, a source
    system's document id) for `scope`; never equal to a patient's or row's pseudonym."""
    if not key:
        raise ValueError("pseudonyms need a key: set VARDKEDJA_PSEUDONYM_KEY")
    digest = hmac.new(key, f"{scope}\x01{value}".encode(), hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest[:16]).decode().rstrip("=").lower()
