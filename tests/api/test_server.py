"""The API's address is bound before anything starts, and the same sockets are what uvicorn serves."""

from __future__ import annotations

import socket

import pytest

from api.server import CannotListen, listen


def test_listen_binds_every_address_of_the_host_on_one_port() -> None:
    sockets = listen("localhost", 0)
    try:
        ports = {s.getsockname()[1] for s in sockets}
        assert len(ports) == 1 and ports != {0}
        with socket.create_connection(("127.0.0.1", ports.pop()), timeout=2):
            pass  # already listening: nothing can take the port before uvicorn serves it
    finally:
        for s in sockets:
            s.close()


def test_a_taken_port_is_one_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CannotListen) as refused:
            listen("127.0.0.1", port)
    assert str(refused.value) == (
        f"cannot listen on 127.0.0.1:{port}: address already in use (set --port or IOT_MOCK_API_PORT)"
    )
