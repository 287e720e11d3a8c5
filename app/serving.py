"""How `serve` runs uvicorn: the HTTP parser with a ceiling on the request head.

uvicorn's default parser (httptools) has no limit on the size of the request line and headers:
a 50 MB header is read whole (and its pieces joined over and over on the way). h11 has one
(`h11_max_incomplete_event_size`) but uvicorn answers it with a 400 and h11 is slower. So this
keeps httptools and counts the bytes of each request's head as they arrive: past the limit the
client gets 431 Request Header Fields Too Large, the rest of what it sends is dropped unread
(so that it can read the answer), and the connection closes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import Settings

log = logging.getLogger("vardkedja.http")

# After the 431, how long the server drops what the client still sends before it closes.
DRAIN_SECONDS = 2.0
TOO_LARGE = b"the request line and headers are larger than the server accepts"


class BoundedHeadProtocol(HttpToolsProtocol):
    """httptools, with the request head limited to `config.h11_max_incomplete_event_size` bytes
    (the one setting uvicorn has for this, honoured by its h11 parser too)."""

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.head_limit: int = config.h11_max_incomplete_event_size or 16 * 1024
        self.head_bytes = 0
        self.in_head = True
        self.refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self.in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # draining: the client is still sending the head it was refused
        counted = self.in_head
        super().data_received(data)
        # Counted while the head was incomplete: at most one read beyond the limit gets parsed.
        if counted and self.in_head and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > self.head_limit:
                self.refuse_head()

    def refuse_head(self) -> None:
        self.refused = True
        log.warning(
            "refused a request head over %d bytes from %s (431)",
            self.head_limit,
            self.client[0] if self.client else "unknown",
        )
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"connection: close\r\n"
            b"content-length: " + str(len(TOO_LARGE)).encode() + b"\r\n\r\n" + TOO_LARGE
        )
        asyncio.get_running_loop().call_later(DRAIN_SECONDS, self.transport.close)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of uvicorn.run that bound what one request may send."""
    return {
        "http": BoundedHeadProtocol,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
    }
