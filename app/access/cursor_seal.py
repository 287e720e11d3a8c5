"""Sealed cursors for research answers (A15): a research client pages through its lists with
cursors that reveal nothing and that only its own study can use.

A list's cursor is the sort key of the last row seen (resolvers/pagination.py): in the clear
it would carry real ids, names or times, and a cursor written by hand could probe them. So a
research answer carries the cursor sealed with AES-GCM under a key derived (HKDF-SHA256) from
the pseudonym key and the study, and a research request's `after:` is opened again before any
list reads it: a cursor of another study is FOREIGN_CURSOR, one tampered with, written by hand
or taken from a non-research answer is BAD_CURSOR. The study's tag (a keyed HMAC, the same
for all of the study's cursors) travels in the clear to tell those two apart; it is also the
associated data, so it cannot be swapped.

The seal of the running request is held in a context variable (set by the research answer
extension, schema/research_view.py), because cursors are decoded deep in the list loaders.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import AppError

PREFIX = "rc_"
TAG_BYTES = 8
NONCE_BYTES = 12


class BadCursor(AppError):
    code = "BAD_CURSOR"


class ForeignCursor(AppError):
    code = "FOREIGN_CURSOR"


@dataclass(frozen=True)
class CursorSeal:
    """Seals and opens the cursors of one study's research answers."""

    key: bytes
    study: uuid.UUID

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("sealed cursors need a key: set VARDKEDJA_PSEUDONYM_KEY")

    @property
    def _tag(self) -> bytes:
        digest = hmac.new(self.key, b"cursor-study\x00" + self.study.bytes, hashlib.sha256)
        return digest.digest()[:TAG_BYTES]

    @property
    def _aead(self) -> AESGCM:
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=b"vardkedja research cursor\x00" + self.study.bytes,
        ).derive(self.key)
        return AESGCM(derived)

    def seal(self, cursor: str) -> str:
        tag, nonce = self._tag, os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, cursor.encode(), tag)
        return PREFIX + base64.urlsafe_b64encode(tag + nonce + sealed).decode().rstrip("=")

    def open(self, value: str, *, field: str = "after") -> str:
        """The cursor sealed in `value`; FOREIGN_CURSOR or BAD_CURSOR (naming `field`)."""
        raw = b""
        if value.startswith(PREFIX):
            text = value[len(PREFIX) :]
            try:
                raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            except (binascii.Error, ValueError):
                raw = b""
        if len(raw) <= TAG_BYTES + NONCE_BYTES:
            raise BadCursor(f"{field}: not a cursor of this study's answers", field=field)
        tag, nonce, sealed = (
            raw[:TAG_BYTES],
            raw[TAG_BYTES : TAG_BYTES + NONCE_BYTES],
            raw[TAG_BYTES + NONCE_BYTES :],
        )
        if not hmac.compare_digest(tag, self._tag):
            raise ForeignCursor(f"{field}: a cursor of another study's answers", field=field)
        try:
            return self._aead.decrypt(nonce, sealed, tag).decode()
        except (InvalidTag, UnicodeDecodeError):
            raise BadCursor(f"{field}: the cursor was altered", field=field) from None


_current: ContextVar[CursorSeal | None] = ContextVar("research_cursor_seal", default=None)


@contextmanager
def sealing(seal: CursorSeal) -> Iterator[None]:
    """Cursors given in this request are opened with `seal` (a research request)."""
    token = _current.set(seal)
    try:
        yield
    finally:
        _current.reset(token)


def opened(cursor: str, *, field: str = "after") -> str:
    """The cursor a list reads: opened in a research request, as given otherwise."""
    seal = _current.get()
    return cursor if seal is None else seal.open(cursor, field=field)
