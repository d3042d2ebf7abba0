"""The web view's listening socket: loopback only, and replies not held back by Nagle."""

from __future__ import annotations

import asyncio
import socket

import pytest

pytest.importorskip("uvicorn")

from provenance.ui.server import _listen  # noqa: E402


def test_the_socket_listens_on_loopback_only() -> None:
    sock = _listen(0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


def test_every_accepted_connection_sends_without_delay() -> None:
    # uvicorn serves the socket through asyncio, which turns Nagle's algorithm
    # off only on sockets that say they are TCP; with it on, each response
    # after the first on a kept-alive connection waited for a delayed ACK.
    sock = _listen(0)
    port = sock.getsockname()[1]
    seen: list[int] = []

    async def main() -> None:
        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("socket")
            seen.append(peer.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(main())
    assert seen and seen[0] != 0
