"""A research client's totalCount (app/access/cohort.published_total): small counts suppressed
and every count shifted as a cohort cell is, the same for the same count of the same kind of
list, so that counting a list gets round neither the suppression nor the perturbation."""

from __future__ import annotations

import uuid

from app.access.cohort import SHIFTS, published_total

KEY = b"unit-test-pseudonym-key"
STUDY = uuid.UUID("00000000-0000-4000-8000-000000000013")


def test_small_counts_are_zero_and_others_shifted_by_at_most_two() -> None:
    for true in range(0, 5):
        assert published_total(KEY, STUDY, "CareContact", true, 5) == 0
    for true in range(5, 400):
        shown = published_total(KEY, STUDY, "CareContact", true, 5)
        # Shifted under k is suppressed too: a shown number is never a small true count.
        assert shown == 0 or (shown >= 5 and abs(shown - true) <= max(SHIFTS))


def test_the_same_count_gets_the_same_answer_and_counts_are_perturbed() -> None:
    answers = [published_total(KEY, STUDY, "Patient", n, 5) for n in range(5, 200)]
    assert answers == [published_total(KEY, STUDY, "Patient", n, 5) for n in range(5, 200)]
    shifts = {shown - n for n, shown in zip(range(5, 200), answers, strict=True) if shown}
    assert shifts == set(SHIFTS)  # every shift is used: a count is rarely the true one
    # Another study or another kind of list has unrelated shifts.
    other = [published_total(KEY, uuid.uuid4(), "Patient", n, 5) for n in range(5, 200)]
    assert other != answers
    assert [published_total(KEY, STUDY, "Diagnosis", n, 5) for n in range(5, 200)] != answers


def test_the_study_k_applies_and_without_a_key_nothing_is_counted() -> None:
    assert all(published_total(KEY, STUDY, "Patient", n, 10) == 0 for n in range(10))
    assert published_total(b"", STUDY, "Patient", 1000, 5) == 0
