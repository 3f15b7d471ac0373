"""The shared writer's handshake (service_layer/writer_wire.py) over a real socket pair, and
the settings that name the writer's address and secret."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pytest

from configuration.settings import Settings, SettingsError
from service_layer.writer_wire import MAGIC, NONCE_BYTES, HandshakeRefused, answer, challenge

SECRET = b"a-secret-of-the-writer-and-its-apis-0123456789"
STORE = "postgresql://glow@db:5432/glow"


def both_sides(
    writer_side: Callable[[socket.socket], None], api_side: Callable[[socket.socket], None]
) -> tuple[BaseException | None, BaseException | None]:
    """Run each side on its end of a socket pair; what each raised (None if nothing)."""
    writer_end, api_end = socket.socketpair()
    raised: list[BaseException | None] = [None, None]

    def run(index: int, side: Callable[[socket.socket], None], end: socket.socket) -> None:
        try:
            side(end)
        except BaseException as error:
            raised[index] = error
        finally:
            end.close()  # as the real sides do when refused

    threads = [
        threading.Thread(target=run, args=(0, writer_side, writer_end)),
        threading.Thread(target=run, args=(1, api_side, api_end)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return raised[0], raised[1]


def test_both_sides_that_know_the_secret_are_admitted() -> None:
    assert both_sides(lambda s: challenge(s, SECRET), lambda s: answer(s, SECRET)) == (None, None)


def test_an_api_with_another_secret_is_refused_and_so_learns_nothing() -> None:
    writer, api = both_sides(lambda s: challenge(s, SECRET), lambda s: answer(s, b"guess" * 8))
    assert isinstance(writer, HandshakeRefused) and "did not prove" in str(writer)
    assert isinstance(api, HandshakeRefused)  # the writer closed without its proof


def test_an_api_refuses_a_writer_that_does_not_prove_the_secret() -> None:
    """A rogue listener at the writer's address: it greets, takes the API's proof, and sends a
    made-up proof followed by a frame. The API refuses before reading any frame."""

    def rogue(sock: socket.socket) -> None:
        sock.sendall(MAGIC + b"n" * NONCE_BYTES)
        sock.recv(1024)
        sock.sendall(b"p" * 32 + b"\0\0\0\x05frame")

    writer, api = both_sides(rogue, lambda s: answer(s, SECRET))
    assert writer is None
    assert isinstance(api, HandshakeRefused) and "writer did not prove" in str(api)


def test_a_peer_of_another_protocol_is_refused_at_the_greeting() -> None:
    _, api = both_sides(
        lambda s: s.sendall(b"HTTP/1.1 200 OK\r\n" * 4), lambda s: answer(s, SECRET)
    )
    assert isinstance(api, HandshakeRefused) and "not a glowledger writer" in str(api)


def test_a_silent_peer_is_dropped_after_the_deadline() -> None:
    writer, _ = both_sides(
        lambda s: challenge(s, SECRET, timeout=0.2), lambda s: s.recv(1024) and s.recv(1024)
    )
    assert isinstance(writer, TimeoutError)


def env(**variables: str) -> dict[str, str]:
    return {"GLOW_EVENT_STORE_URL": STORE, **variables}


def test_the_writer_url_lists_addresses_tried_in_turn() -> None:
    settings = Settings.from_env(
        env(GLOW_WRITER_URL="tcp://w1:7070,tcp://w2:7071, [::1]:7072", GLOW_WRITER_SECRET="s" * 32)
    )
    assert settings.writer_addresses() == [("w1", 7070), ("w2", 7071), ("::1", 7072)]
    assert Settings.from_env(env()).writer_addresses() == []  # unset: the child writer


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"GLOW_WRITER_URL": "writer:7070"}, "must be tcp://host:port"),
        ({"GLOW_WRITER_URL": "tcp://writer"}, "is not host:port"),
        ({"GLOW_WRITER_URL": "tcp://writer:99999"}, "from 1 to 65535"),
        ({"GLOW_WRITER_URL": "tcp://writer:7070"}, "GLOW_WRITER_SECRET must be at least 32"),
        (
            {"GLOW_WRITER_URL": "tcp://writer:7070", "GLOW_WRITER_SECRET": "short"},
            r"at least 32 characters \(got 5\)",
        ),
        (
            {
                "GLOW_WRITER_URL": "tcp://writer:7070",
                "GLOW_WRITER_SECRET": "s" * 32,
                "GLOW_EVENT_STORE_URL": "sqlite:///var/x.sqlite",
            },
            "needs a PostgreSQL event store",
        ),
    ],
)
def test_a_writer_url_without_a_usable_address_or_secret_is_refused_at_start(
    variables: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env(**variables))


def test_the_listen_address_and_secret_are_checked_where_glow_writer_uses_them() -> None:
    assert Settings.from_env(env()).writer_listen_address() == ("127.0.0.1", 7070)
    listening = Settings.from_env(env(GLOW_WRITER_LISTEN="0.0.0.0:7171"))
    assert listening.writer_listen_address() == ("0.0.0.0", 7171)
    with pytest.raises(SettingsError, match="GLOW_WRITER_LISTEN"):
        Settings.from_env(env(GLOW_WRITER_LISTEN="everywhere")).writer_listen_address()
    with pytest.raises(SettingsError, match="openssl rand -hex 32"):
        listening.writer_secret_bytes()  # required on loopback too
