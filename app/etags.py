"""ETags of GraphQL answers to GET, and `If-None-Match` -> 304 Not Modified.

The tag is an HMAC-SHA256, under a key derived from the server's audit key (shared by every
replica), of the principal and the answer's bytes: the same answer to two callers has two tags,
so a tag copied from another caller never matches, and a tag reveals nothing of the answer to
anyone without the key. The query still runs (its answer is what the tag is over): a 304 saves
the transfer and the client's parsing, not the database's work.

A 304 is audited: the caller learns that what it holds is still the record as the policy shows
it now, a disclosure of the same rows at that moment. Its entries name the same rows as a full
answer would, with action `revalidate` instead of `read` (app/audit.py).

`If-None-Match: *` is not honoured (every answer is sent): a 304 is given only for a tag this
caller was given. Answers are `Cache-Control: no-store` as before: a shared or browser cache
never keeps health data, so the client keeps its copy itself and sends its tag.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets

import orjson

from app.access.principal import Principal
from app.settings import Settings

_LABEL = b"vardkedja graphql etag v1"
# Without a configured key (a test app), tags are good for this process only.
_PROCESS_KEY = secrets.token_bytes(32)


def etag_key(settings: Settings) -> bytes:
    """The tags' key: derived from the audit key (not that key itself), or per process."""
    secret = settings.audit_key
    if not secret:
        return _PROCESS_KEY
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()


def _principal_bytes(principal: Principal) -> bytes:
    """Everything that identifies the caller and what it may see (unit, purpose, proxy...)."""
    values = {f.name: str(getattr(principal, f.name)) for f in dataclasses.fields(principal)}
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


def etag(key: bytes, principal: Principal, body: bytes) -> str:
    mac = hmac.new(key, _principal_bytes(principal) + b"\n" + body, hashlib.sha256).digest()
    return '"' + base64.urlsafe_b64encode(mac[:24]).decode() + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an If-None-Match header lists `tag` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate and hmac.compare_digest(candidate.encode(), tag.encode()):
            return True
    return False
