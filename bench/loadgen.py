"""Low-overhead closed-loop HTTP/1.1 load generator (standard library only).

Benchmarks run it on loopback, sharing the cores with the server, so client CPU is taken from
the server. Hence: request bytes are all built before the clock starts, each virtual user keeps
one keep-alive connection over raw asyncio streams, responses are parsed only enough to frame
them, and the client reports its own CPU per request to show it was not the limit.

    python bench/loadgen.py --url http://127.0.0.1:8123/api/v1/tickets/ --method POST \\
        --header "Content-Type: application/json" --body-template '{"subject": "n={n}"}' \\
        --concurrency 32 --requests 2000 --max-seconds 30 [--warmup 50] \\
        [--unique-header "Idempotency-Key: {uuid}"] [--tokens-file FILE] [--bodies-file FILE]

prints one JSON object. `{n}` becomes a per-request counter and `{uuid}` a uuid4 hex.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import math
import socket
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

_ERROR_TEXT_CHARS = 200
# asyncio recv()s into a new 256 KiB bytes object per read, which glibc serves with
# mmap + mremap + munmap: 3 extra syscalls per response. 64 KiB comes from the heap.
_RECV_SIZE = 64 * 1024


class _Stats:
    """Counters for one phase; the warmup phase gets its own instance, whose statuses are
    reported apart (every request sent is counted: a warm-up 201 is a ticket too)."""

    def __init__(self) -> None:
        self.latencies: list[float] = []  # seconds, one per full response (any status)
        self.status_counts: dict[int, int] = {}
        self.errors = 0  # non-2xx responses + requests that got no full response
        self.conn_errors = 0  # requests that got no full response
        self.reconnects = 0  # connections opened by a user that already had one
        # Requests sent but cut off by the phase's time limit: the server may still act on them
        # (a POST may create its ticket) though the client never sees the answer.
        self.cancelled_in_flight = 0
        self.first_error: str | None = None

    def fail(self, text: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = text[:_ERROR_TEXT_CHARS]


class _Connection:
    """One virtual user's connection, kept open across the warmup and measured phases."""

    def __init__(self, addr: tuple[Any, ...], family: int) -> None:
        self.addr, self.family = addr, family
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.ever_opened = False

    async def open(self, st: _Stats) -> None:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.setblocking(False)
        # On loopback the handshake completes inside the first connect(), so the second one
        # reports success and we skip asyncio's wait-for-writable round trip (~15% of the
        # client CPU when the server closes every connection).
        try:
            sock.connect_ex(self.addr)
            if sock.connect_ex(self.addr) not in (0, errno.EISCONN):
                await asyncio.get_running_loop().sock_connect(sock, self.addr)
            self.reader, self.writer = await asyncio.open_connection(sock=sock)
        except BaseException:
            sock.close()  # refused or cancelled: don't leak the descriptor
            raise
        self.writer.transport.max_size = _RECV_SIZE  # type: ignore[attr-defined]
        if self.ever_opened:
            st.reconnects += 1
        self.ever_opened = True

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _header(head: bytes, name: bytes) -> bytes | None:
    """First value of header `name` in a lower-cased response head, or None."""
    i = head.find(b"\r\n" + name + b":")
    if i < 0:
        return None
    start = i + len(name) + 3
    return head[start : head.find(b"\r\n", start)].strip()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readline()).split(b";", 1)[0], 16):
        parts.append((await reader.readexactly(size + 2))[:-2])  # chunk data + CRLF
    while (await reader.readline()) not in (b"\r\n", b""):  # optional trailers
        pass
    return b"".join(parts)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Read one response and return (status, keep_alive, body)."""
    try:
        # One readuntil for the whole head: far cheaper than a readline() per header.
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:  # closed before sending a byte: let the caller retry if reused
            raise ConnectionResetError("server closed the connection") from None
        raise
    status = int(head[9:12])
    conn = _header(head, b"connection") or b""
    keep = b"close" not in conn if head.startswith(b"http/1.1") else b"keep-alive" in conn
    length = _header(head, b"content-length")
    if length is not None:
        body = await reader.readexactly(int(length))
    elif b"chunked" in (_header(head, b"transfer-encoding") or b""):
        body = await _read_chunked(reader)
    elif status < 200 or status in (204, 304):
        body = b""
    else:  # body framed by the server closing the connection
        body, keep = await reader.read(), False
    return status, keep, body


async def _virtual_user(c: _Connection, jobs: Iterator[bytes], st: _Stats) -> None:
    perf, latencies, counts = time.perf_counter, st.latencies, st.status_counts
    in_flight = False
    try:
        for req in jobs:  # `jobs` is shared by all users, so each request is sent exactly once
            for attempt in (1, 2):
                reused = c.writer is not None  # i.e. it already carried a full exchange
                try:
                    if c.writer is None:
                        await c.open(st)
                    t0 = perf()
                    c.writer.write(req)  # type: ignore[union-attr]
                    in_flight = True
                    status, keep, body = await _read_response(c.reader)  # type: ignore[arg-type]
                    in_flight = False
                    latencies.append(perf() - t0)
                except (OSError, EOFError, ValueError, asyncio.LimitOverrunError) as exc:
                    in_flight = False
                    c.close()
                    # A reused keep-alive connection that the server had dropped (idle timeout,
                    # worker restart) gives a reset or EOF: retry once on a new connection, as
                    # browsers do. Anything else, or a fresh connection failing, is an error.
                    if isinstance(exc, ConnectionError) and reused and attempt == 1:
                        continue
                    st.conn_errors += 1
                    st.fail(f"{type(exc).__name__}: {exc}")
                else:
                    counts[status] = counts.get(status, 0) + 1
                    if not 200 <= status < 300:
                        st.fail(f"HTTP {status}: {body.decode(errors='replace')}")
                    if not keep:  # e.g. gunicorn sync workers answer `Connection: close`
                        c.close()
                break
    except asyncio.CancelledError:
        c.close()  # cancelled mid-request: a late response must not be read as the next one
        st.cancelled_in_flight += in_flight
        raise


async def _phase(conns: list[_Connection], jobs: list[bytes], limit_s: float, st: _Stats) -> float:
    """Send `jobs` over `conns` until all are done or `limit_s` pass; return elapsed seconds."""
    shared = iter(jobs)
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(_virtual_user(c, shared, st)) for c in conns]
    # One timeout for the whole phase: asyncio.wait_for per request would cost a task + timer.
    done, pending = await asyncio.wait(tasks, timeout=limit_s)
    elapsed = time.perf_counter() - t0
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for t in done:
        t.result()  # re-raise bugs instead of reporting a silently short run
    return elapsed


def build_requests(
    url: str,
    method: str,
    headers: Mapping[str, str] | Sequence[str],
    body_template: str | None,
    count: int,
    unique_header: str | None = None,
    tokens: Sequence[str] = (),
    bodies: Sequence[str] = (),
) -> list[bytes]:
    """Pre-encode `count` requests; request n gets `{n}`/`{uuid}` filled in and token n % len
    (and, given `bodies`, body n % len instead of the template)."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pairs = headers.items() if isinstance(headers, Mapping) else [h.split(":", 1) for h in headers]
    skip = "authorization" if tokens else None  # the rotating token replaces a fixed one
    lines = [f"Host: {parts.netloc}"]
    lines += [f"{k.strip()}: {v.strip()}" for k, v in pairs if k.strip().lower() != skip]
    method = method.upper()
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{line}\r\n" for line in lines)
    needs_uuid = "{uuid}" in (body_template or "") + (unique_header or "")
    sends_body = body_template is not None or method in ("POST", "PUT", "PATCH")
    out = []
    for n in range(count):
        u = uuid.uuid4().hex if needs_uuid else ""  # shared by body and header of request n
        extra = ""
        if unique_header:
            extra += unique_header.replace("{n}", str(n)).replace("{uuid}", u) + "\r\n"
        if tokens:
            extra += f"Authorization: Token {tokens[n % len(tokens)]}\r\n"
        template = bodies[n % len(bodies)] if bodies else (body_template or "")
        body = template.replace("{n}", str(n)).replace("{uuid}", u).encode()
        if sends_body:
            extra += f"Content-Length: {len(body)}\r\n"
        out.append((head + extra + "\r\n").encode("latin-1") + body)
    return out


def _percentile_ms(sorted_latencies: list[float], q: float) -> float | None:
    """Nearest-rank percentile: the smallest latency with at least q of the samples <= it."""
    if not sorted_latencies:
        return None
    rank = max(1, math.ceil(q * len(sorted_latencies)))
    return round(sorted_latencies[rank - 1] * 1000, 3)


def run(
    url: str,
    method: str,
    headers: Mapping[str, str] | Sequence[str],
    body_template: str | None,
    concurrency: int,
    requests: int,
    max_seconds: float,
    warmup: int = 0,
    unique_header: str | None = None,
    tokens: Sequence[str] = (),
    bodies: Sequence[str] = (),
) -> dict[str, Any]:
    """Run a closed-loop load test; return the result dict that the CLI prints as JSON.

    Stops after `requests` measured requests or `max_seconds`, whichever comes first; the
    warmup requests run before, on the same connections, with their own `max_seconds` budget.
    Uses asyncio.run, so call it from synchronous code.
    """
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"only http:// URLs are supported, got {url!r}")
    n = warmup + requests
    reqs = build_requests(url, method, headers, body_template, n, unique_header, tokens, bodies)
    # Resolve once, not per (re)connection.
    info = socket.getaddrinfo(parts.hostname, parts.port or 80, type=socket.SOCK_STREAM)[0]
    family, addr = info[0], info[4]
    conns = [_Connection(addr, family) for _ in range(concurrency)]
    st, warm = _Stats(), _Stats()

    async def both_phases() -> tuple[float, float]:
        try:
            if warmup:
                await _phase(conns, reqs[:warmup], max_seconds, warm)
            cpu0 = time.process_time()  # user + system CPU of this process, all threads
            seconds = await _phase(conns, reqs[warmup:], max_seconds, st)
            return seconds, time.process_time() - cpu0
        finally:
            for c in conns:
                c.close()
            await asyncio.sleep(0)  # let the transports close before the loop goes away

    seconds, cpu = asyncio.run(both_phases())
    done = len(st.latencies) + st.conn_errors
    lat = sorted(st.latencies)
    return {
        "concurrency": concurrency,
        "requests": done,
        "errors": st.errors,
        "status_counts": {str(k): v for k, v in sorted(st.status_counts.items())},
        "seconds": round(seconds, 3),
        "rps": round(done / seconds, 1) if seconds else 0.0,
        "p50_ms": _percentile_ms(lat, 0.50),
        "p90_ms": _percentile_ms(lat, 0.90),
        "p99_ms": _percentile_ms(lat, 0.99),
        "max_ms": round(lat[-1] * 1000, 3) if lat else None,
        "client_cpu_us_per_request": round(cpu * 1e6 / done, 1) if done else None,
        "reconnects": st.reconnects,
        "cancelled_in_flight": st.cancelled_in_flight,
        "first_error": st.first_error,
        "warmup": {
            "requests": len(warm.latencies) + warm.conn_errors,
            "status_counts": {str(k): v for k, v in sorted(warm.status_counts.items())},
            "conn_errors": warm.conn_errors,
            "cancelled_in_flight": warm.cancelled_in_flight,
            "first_error": warm.first_error,
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Option names match run()'s parameters, so the parsed namespace is passed straight through.
    p.add_argument("--url", required=True)
    p.add_argument("--method", default="GET")
    p.add_argument("--header", dest="headers", action="append", default=[], help='"Name: value"')
    p.add_argument("--body-template", default=None)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--max-seconds", type=float, default=30.0)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--unique-header", default=None, help='e.g. "Idempotency-Key: {uuid}"')
    p.add_argument("--tokens-file", default=None, help="one API token per line, rotated")
    p.add_argument("--bodies-file", default=None,
                   help="one request body per line, rotated (instead of --body-template)")
    args = vars(p.parse_args(argv))
    for option, key in (("tokens_file", "tokens"), ("bodies_file", "bodies")):
        path = args.pop(option)
        if path:
            with open(path) as f:
                args[key] = [line.strip() for line in f if line.strip()]
    print(json.dumps(run(**args)))


if __name__ == "__main__":
    main()
