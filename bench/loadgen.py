"""A small closed-loop load generator: fixed concurrency, fixed duration, 127.0.0.1 only.

Each of `concurrency` workers sends one request, waits for the answer, and sends the next, on
its own keep-alive HTTP/1.1 connection, until the duration is over or the request budget is
spent. The HTTP client is a few lines over asyncio streams (uvloop), so the generator costs
little CPU next to the servers it measures; `python -m bench.loadgen --selftest` measures its
ceiling against a server that does nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import resource
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

LOOPBACK = "127.0.0.1"

# One operation: send request number i, return None on success or a short error kind.
Operation = Callable[[int], Awaitable[str | None]]
OperationFactory = Callable[[], Awaitable[tuple[Operation, Callable[[], Awaitable[None]]]]]


@dataclass
class LoadResult:
    """What one segment (one system, one workload, one round) measured."""

    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    error_kinds: dict[str, int] = field(default_factory=dict)
    client_cpu_seconds: float = 0.0
    error_samples: dict[str, str] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        del data["latencies_ms"]
        data.update(rps=self.rps, **percentiles(self.latencies_ms))
        return data


def percentiles(latencies_ms: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max by the nearest-rank method (no interpolation)."""
    if not latencies_ms:
        return {"p50_ms": 0.0, "p90_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "mean_ms": 0.0}
    ordered = sorted(latencies_ms)

    def rank(p: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 1)) - 1))]

    return {
        "p50_ms": rank(0.50),
        "p90_ms": rank(0.90),
        "p99_ms": rank(0.99),
        "max_ms": ordered[-1],
        "mean_ms": sum(ordered) / len(ordered),
    }


async def drive(
    factory: OperationFactory,
    *,
    concurrency: int,
    duration: float,
    max_requests: int,
) -> LoadResult:
    """Run `concurrency` closed-loop workers for `duration` seconds (or `max_requests`)."""
    ops = [await factory() for _ in range(concurrency)]
    counter = itertools.count()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    perf = time.perf_counter
    cpu0 = _own_cpu()
    start = perf()
    deadline = start + duration

    async def worker(op: Operation) -> None:
        while True:
            i = next(counter)
            if i >= max_requests:
                return
            t0 = perf()
            if t0 >= deadline:
                return
            try:
                error = await op(i)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                error = type(exc).__name__
            if error is None:
                latencies.append((perf() - t0) * 1000.0)
            else:
                errors[error] = errors.get(error, 0) + 1

    await asyncio.gather(*(worker(op) for op, _ in ops))
    seconds = perf() - start
    cpu = _own_cpu() - cpu0
    for _, close in ops:
        await close()
    return LoadResult(
        requests=len(latencies),
        errors=sum(errors.values()),
        seconds=seconds,
        latencies_ms=latencies,
        error_kinds=errors,
        client_cpu_seconds=cpu,
    )


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- HTTP -----------------------------------------------------------------------------------


def graphql_post(port: int, body: dict[str, Any], headers: dict[str, str], path: str) -> bytes:
    """The raw bytes of one HTTP/1.1 POST of a GraphQL request to 127.0.0.1:port."""
    payload = orjson.dumps(body)
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {LOOPBACK}:{port}",
        "Content-Type: application/json",
        "Accept: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


class HttpConnection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1; one request in flight at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        return cls(reader, writer)

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request; return (status, body)."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"content-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at)
            body = await self.reader.readexactly(int(lower[at + 15 : end]))
        elif b"transfer-encoding: chunked" in lower:
            body = await self._chunked()
        else:
            raise ValueError("response without a length")
        return status, body

    async def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return b"".join(parts)
            parts.append(chunk[:-2])

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def graphql_ok(status: int, body: bytes, marker: bytes | None = None) -> str | None:
    """None for a 200 answer without GraphQL errors (and with `marker`), else an error kind."""
    if status != 200:
        return f"http_{status}"
    if b'"errors"' in body:
        return "graphql_errors"
    if marker is not None and marker not in body:
        return "user_errors"
    return None


def http_factory(
    port: int,
    request: Callable[[int], bytes],
    marker: bytes | None = None,
    samples: dict[str, str] | None = None,
) -> OperationFactory:
    """Workers that POST `request(i)` on their own connection and check the answer.

    `samples` receives the first answer of each kind of error (for the results)."""

    async def make() -> tuple[Operation, Callable[[], Awaitable[None]]]:
        conn = await HttpConnection.open(port)

        async def op(i: int) -> str | None:
            nonlocal conn
            try:
                status, body = await conn.send(request(i))
            except (OSError, asyncio.IncompleteReadError):
                # The server dropped the connection: count it and carry on with a new one.
                await conn.close()
                conn = await HttpConnection.open(port)
                return "connection_lost"
            error = graphql_ok(status, body, marker)
            if error is not None and samples is not None and error not in samples:
                samples[error] = body[:500].decode(errors="replace")
            return error

        async def close() -> None:
            await conn.close()

        return op, close

    return make


# --- self test: the generator's own ceiling -----------------------------------------------------

TRIVIAL_BODY = b'{"data":{"ok":true}}'
TRIVIAL_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(TRIVIAL_BODY)).encode()
    + b"\r\n\r\n"
    + TRIVIAL_BODY
)


class _Trivial(asyncio.Protocol):
    """Answers every request at once with a fixed body (assumes one request per packet)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        while head_end >= 0:
            head = self.buffer[: head_end + 2].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 : head.index(b"\r\n", at)]) if at >= 0 else 0
            if len(self.buffer) < head_end + 4 + length:
                return
            self.buffer = self.buffer[head_end + 4 + length :]
            self.transport.write(TRIVIAL_RESPONSE)  # type: ignore[attr-defined]
            head_end = self.buffer.find(b"\r\n\r\n")


async def serve_trivial(port: int, seconds: float) -> None:
    server = await asyncio.get_running_loop().create_server(_Trivial, LOOPBACK, port)
    async with server:
        await asyncio.sleep(seconds)


def install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def selftest(concurrency: int, duration: float) -> dict[str, Any]:
    """The generator's rate against a server that does no work (in another process)."""
    from bench.procs import REPO_DIR, free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen", "--serve-trivial", str(port)], cwd=REPO_DIR
    )
    try:
        result = asyncio.run(_drive_trivial(port, concurrency, duration))
    finally:
        server.terminate()
        server.wait(5)
    summary = result.summary()
    summary["client_cpu_per_request_us"] = (
        result.client_cpu_seconds / result.requests * 1e6 if result.requests else 0.0
    )
    return summary


async def _drive_trivial(port: int, concurrency: int, duration: float) -> LoadResult:
    for _ in range(100):
        try:
            conn = await HttpConnection.open(port)
            await conn.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    raw = graphql_post(port, {"query": "{ ok }"}, {}, "/graphql")
    return await drive(
        http_factory(port, lambda i: raw),
        concurrency=concurrency,
        duration=duration,
        max_requests=10_000_000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--selftest", action="store_true", help="measure the generator's ceiling")
    parser.add_argument("--serve-trivial", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    install_uvloop()
    if args.serve_trivial:
        asyncio.run(serve_trivial(args.serve_trivial, 600))
    elif args.selftest:
        summary = selftest(args.concurrency, args.duration)
        print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    else:
        parser.error("use --selftest (the runner drives the generator itself: bench.run)")


if __name__ == "__main__":
    main()
