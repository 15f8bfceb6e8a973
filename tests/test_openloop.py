"""The C open-loop generator of bench_visible against a small local HTTP server.

It must keep its schedule whatever the server does (a slow answer delays no later send, and
latency counts from the scheduled instant), read answers however they are framed, and record
every request exactly once, failures included.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import AsyncIterator

import pytest

from benchmarks.openloop import Answer, Generator, Request, http_request, write_requests

SLOW_SECONDS = 1.0
MS = 1_000_000


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One keep-alive connection: each path answers in its own way."""
    served = 0
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ")[1].decode()
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
            if path == "/reset":  # RST instead of an answer
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            if path == "/stale" and served > 0:  # closed as an idle timeout would, unanswered
                writer.close()
                return
            served += 1
            if path == "/slow":
                await asyncio.sleep(SLOW_SECONDS)  # the server's behaviour, not a test's wait
            if path == "/chunked":
                chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (b'{"echo": ', body, b"}"))
                writer.write(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
                )
            elif path == "/close":
                writer.write(b"HTTP/1.1 201 Created\r\nConnection: close\r\n\r\n" + body)
                await writer.drain()
                writer.close()
                return
            else:
                status = b"202 Accepted" if path != "/missing" else b"404 Not Found"
                # the head and the body in separate writes: the client must read partial answers
                writer.write(b"HTTP/1.1 %s\r\nContent-Length: %d\r\n\r\n" % (status, len(body)))
                await writer.drain()
                await asyncio.sleep(0)
                writer.write(body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, int]]:
    srv = await asyncio.start_server(_answer, "127.0.0.1", 0)
    async with srv:
        yield srv.sockets[0].getsockname()[:2]


async def _run(
    tmp_path_factory: pytest.TempPathFactory,
    target: tuple[str, int],
    paths: list[str],
    rate: float,
    max_conns: int = 16,
    timeout_s: float = 60.0,
) -> tuple[list[Answer], Generator]:
    host, port = target
    requests = [
        Request(0, round(i * 1e9 / rate), http_request(f"{host}:{port}", "POST", p, {}, b"%d" % i))
        for i, p in enumerate(paths)
    ]
    file = tmp_path_factory.mktemp("openloop") / "requests"
    write_requests(file, [target], requests)
    generator = Generator(
        file, start_ns=time.monotonic_ns() + 50 * MS, max_conns=max_conns, timeout_s=timeout_s
    )
    answers = [answer async for answer in generator.answers()]
    return answers, generator


async def test_answers_of_every_framing_and_failure_recorded_once(
    server: tuple[str, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    paths = ["/length", "/chunked", "/close", "/missing", "/reset", "/slow"] * 5
    answers, generator = await _run(tmp_path_factory, server, paths, rate=200)

    assert sorted(a.index for a in answers) == list(range(len(paths)))
    for a in answers:
        expected = {"/length": 202, "/chunked": 200, "/close": 201, "/missing": 404}
        sent = b"%d" % a.index
        match paths[a.index]:
            case "/reset":
                assert a.status == 0, a
                assert a.body  # why it failed
            case "/chunked":
                assert (a.status, a.body) == (200, b'{"echo": ' + sent + b"}")
            case path:
                assert (a.status, a.body) == (expected.get(path, 202), sent)
    assert generator.cpu_seconds > 0


async def test_a_slow_server_delays_no_later_send(
    server: tuple[str, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Open loop: while answers take a second, sends keep to the schedule (new connections
    take them), and latency runs from the scheduled instant."""
    rate = 100
    paths = ["/slow"] * 50 + ["/length"] * 10  # half a second of slow sends, then fast ones
    answers, _ = await _run(tmp_path_factory, server, paths, rate=rate, max_conns=64)

    assert sorted(a.index for a in answers) == list(range(len(paths)))
    first = next(a for a in answers if a.index == 0)
    for a in answers:
        assert a.sent_ns - a.scheduled_ns < 50 * MS, a  # sent on time, not after earlier answers
        assert a.scheduled_ns - first.scheduled_ns == a.index * 10 * MS
    slow = [a for a in answers if paths[a.index] == "/slow"]
    assert all(a.latency_ms >= SLOW_SECONDS * 1000 for a in slow)
    fast = [a for a in answers if paths[a.index] == "/length"]
    assert all(a.status == 202 and a.latency_ms < SLOW_SECONDS * 1000 for a in fast)
    # the fast ones were answered before the slow ones sent earlier
    assert max(a.answered_ns for a in fast) < max(a.answered_ns for a in slow)


async def test_waiting_for_a_connection_counts_as_latency(
    server: tuple[str, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """At its connection cap the generator queues; the queued requests' latency includes the
    wait (no coordinated omission), and the schedule of the later ones does not move."""
    paths = ["/slow"] * 4
    answers, _ = await _run(tmp_path_factory, server, paths, rate=100, max_conns=1)

    by_index = sorted(answers, key=lambda a: a.index)
    assert [a.status for a in by_index] == [202] * 4
    # one connection: each waits for the one before, and the wait is in its latency
    for i, a in enumerate(by_index):
        assert a.latency_ms >= SLOW_SECONDS * 1000 * (i + 1) - 10 * i - 50, a
        assert a.scheduled_ns - by_index[0].scheduled_ns == i * 10 * MS


async def test_a_kept_alive_connection_closed_under_a_request_is_retried_once(
    server: tuple[str, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A server closes an idle keep-alive connection as the next request goes out on it (its
    idle timeout): nothing was answered, so the request goes again on a new connection."""
    answers, _ = await _run(tmp_path_factory, server, ["/length", "/stale"], rate=5)

    assert sorted((a.index, a.status) for a in answers) == [(0, 202), (1, 202)]


async def test_an_answer_later_than_the_timeout_is_one_failure(
    server: tuple[str, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Late answers fail (counted from the scheduled instant), whether the request was in flight
    on a reused connection or still waiting for one; none is sent again."""
    paths = ["/length", "/slow", "/slow", "/slow"]
    answers, _ = await _run(tmp_path_factory, server, paths, rate=100, max_conns=1, timeout_s=0.5)

    by_index = {a.index: a for a in answers}
    assert sorted(by_index) == [0, 1, 2, 3] and len(answers) == 4
    assert by_index[0].status == 202
    assert all((by_index[i].status, by_index[i].body) == (0, b"timeout") for i in (1, 2, 3))


async def test_a_refused_connection_fails_every_request_without_hanging(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    answers, _ = await _run(tmp_path_factory, ("127.0.0.1", port), ["/length"] * 5, rate=100)

    assert sorted(a.index for a in answers) == list(range(5))
    assert all(a.status == 0 for a in answers)


async def test_a_long_schedule_is_read_before_its_first_send_is_due(
    server: tuple[str, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """bench_visible's 60 s run is 12,000 requests (9 MB): read with a scan of the rest of the
    file per request, the generator began sending 2 s after its start, and every command of the
    first two seconds counted that wait as latency. Here the first requests go to the server,
    then 20,000 more of the same size to a port nobody listens on (each refused at once): the
    first must still be sent on time after the lead bench_visible gives the generator (0.5 s:
    room for a loaded host to start it, where the quadratic read took seconds)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = ("127.0.0.1", probe.getsockname()[1])
    host, port = server
    body = b"x" * 700  # a command's size
    requests = [
        Request(0, i * MS, http_request(f"{host}:{port}", "POST", "/length", {}, body))
        for i in range(5)
    ] + [
        Request(1, 5 * MS, http_request(f"{closed[0]}:{closed[1]}", "POST", "/", {}, body))
        for _ in range(20_000)
    ]
    file = tmp_path_factory.mktemp("openloop") / "requests"
    write_requests(file, [server, closed], requests)
    generator = Generator(file, start_ns=time.monotonic_ns() + 500 * MS, max_conns=4)
    answers = [answer async for answer in generator.answers()]

    assert len(answers) == len(requests)
    first = sorted((a for a in answers if a.index < 5), key=lambda a: a.index)
    assert [a.status for a in first] == [202] * 5
    assert all(a.sent_ns - a.scheduled_ns < 50 * MS for a in first), first
