"""Cohort counts for research (A15): small cells suppressed, and every count perturbed so that
the same question asked of a cohort with one patient fewer does not reveal that patient.

The protection against differencing is the cell-key method (as the Australian Bureau of
Statistics' TableBuilder uses it): every patient has a record key, a keyed HMAC of the study
and the patient (0-255); a cell's key is the sum of its patients' record keys modulo 256, and
the cell's count is shifted by a small amount (-2 to +2) looked up from the cell key. So:
- the same set of patients always gets the same shift, however the question is phrased, so
  asking again and averaging gains nothing;
- a cell with one patient more or fewer has an unrelated key, hence an unrelated shift: the
  difference of two answers is the true difference (0 or 1) plus noise of up to +-4, and a
  total minus its cells is noisy the same way (no complementary cell gives a patient away);
- counts under k (the study's `min_cell_size`, default 5) are shown as "<k"; so is a cell
  whose shifted count falls under k, so that a shown number never is a small true count;
- a shifted count is never negative, and an empty cell is never reported at all.
Both the true count and the shift stay inside; only the published value leaves.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

# The shift per cell key: a fixed, balanced table (mean 0) over -2..+2.
SHIFTS = (-2, -1, 0, 1, 2)
AGE_BAND_YEARS = 10
OLDEST_BAND = 90


def record_key(key: bytes, study_id: uuid.UUID, patient_id: uuid.UUID) -> int:
    """A patient's record key for one study (0-255): stable, and unlinkable across studies."""
    digest = hmac.new(key, f"cohort\x00{study_id}\x00{patient_id}".encode(), hashlib.sha256)
    return digest.digest()[0]


def cell_key(record_keys: Iterable[int]) -> int:
    return sum(record_keys) % 256


def shift(key: bytes, cell: int) -> int:
    """The perturbation of a cell with this cell key (keyed, so that nobody without the key
    can compute it from the keys they could guess)."""
    digest = hmac.new(key, f"shift\x00{cell}".encode(), hashlib.sha256).digest()
    return SHIFTS[digest[0] % len(SHIFTS)]


@dataclass(frozen=True)
class Published:
    """What leaves for one cell: a count, or "<k" when suppressed."""

    count: int | None
    display: str
    suppressed: bool


def publish(true_count: int, cell: int, key: bytes, k: int) -> Published:
    """The published value of a cell of `true_count` patients with cell key `cell`."""
    shown = max(true_count + shift(key, cell), 0)
    if true_count < k or shown < k:
        return Published(None, f"<{k}", True)
    return Published(shown, str(shown), False)


def published_total(
    key: bytes, study_id: uuid.UUID | None, kind: str, true_count: int, k: int
) -> int:
    """A research principal's `totalCount` of a list of `kind` rows: perturbed and suppressed
    as a cohort cell is, so that counting a list is no way around the cohort's protection.

    The rows of a list are not at hand as patients are (the count is one SQL count), so the
    cell key is keyed on what a rephrasing cannot change: the study, the kind of list and the
    true count. The same count of a list always gets the same shift (nothing to average
    away), and one row fewer gets an unrelated one. A count shown as "<k" in a cohort is 0
    here (totalCount is a non-null Int); without a key nothing is counted for research (0).
    """
    if not key:
        return 0
    digest = hmac.new(
        key, f"total\x00{study_id}\x00{kind}\x00{true_count}".encode(), hashlib.sha256
    )
    return publish(true_count, digest.digest()[0], key, k).count or 0


def age_band(birth: date, today: date) -> str:
    """Ten-year bands, "0-9" to "80-89", and "90+"."""
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if age >= OLDEST_BAND:
        return f"{OLDEST_BAND}+"
    low = age // AGE_BAND_YEARS * AGE_BAND_YEARS
    return f"{low}-{low + AGE_BAND_YEARS - 1}"
