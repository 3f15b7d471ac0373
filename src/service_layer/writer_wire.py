"""The shared writer's wire (`glow writer` over TCP, service_layer/shared_writer.py, and the
API's side, writer_connection.py): who may speak on it, proved before a single frame is read.

Frames are pickles (writer_frames.py), and unpickling what a stranger sent runs whatever code
the stranger chose. So every connection starts with a mutual HMAC-SHA256 challenge-response
on GLOW_WRITER_SECRET, in fixed-size raw bytes that are compared, never unpickled:

    writer -> API   MAGIC (8 bytes) + writer nonce (32)
    API -> writer   API nonce (32) + HMAC(secret, "api" + writer nonce + API nonce)
    writer -> API   HMAC(secret, "writer" + API nonce + writer nonce)

The writer reads no frame from a peer that has not proved the secret (a wrong proof closes
the connection); the API reads none from a writer that has not (a rogue listener at the
writer's address could otherwise run code in every API). Fresh nonces on both sides: a
recorded handshake replays nowhere. What the handshake does not give is secrecy or integrity
of the frames that follow: the wire belongs on a private network (the manifests' network
policy lets only the API's pods reach the writer's port; README "Cluster mode").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
import struct

MAGIC = b"GLOWWRT1"  # the protocol and its version: a peer of another version is refused
NONCE_BYTES = 32
PROOF_BYTES = hashlib.sha256().digest_size
HANDSHAKE_SECONDS = 5.0  # a peer that has not proved itself by then is dropped


class HandshakeRefused(ConnectionError):  # noqa: N818 (a refusal, named as the peer sees it)
    """The peer did not prove it knows the writer's secret (or speaks another protocol)."""


def _proof(secret: bytes, role: bytes, first: bytes, second: bytes) -> bytes:
    return hmac.new(secret, role + first + second, hashlib.sha256).digest()


def challenge(sock: socket.socket, secret: bytes, timeout: float = HANDSHAKE_SECONDS) -> None:
    """The writer's side: returns once the peer proved the secret (and was given the
    writer's proof); raises HandshakeRefused (or an OSError) otherwise. The caller closes."""
    sock.settimeout(timeout)
    ours = secrets.token_bytes(NONCE_BYTES)
    sock.sendall(MAGIC + ours)
    answer = _receive_exactly(sock, NONCE_BYTES + PROOF_BYTES)
    theirs, proof = answer[:NONCE_BYTES], answer[NONCE_BYTES:]
    if not hmac.compare_digest(proof, _proof(secret, b"api", ours, theirs)):
        raise HandshakeRefused("the peer did not prove GLOW_WRITER_SECRET")
    sock.sendall(_proof(secret, b"writer", theirs, ours))
    sock.settimeout(None)


def answer(sock: socket.socket, secret: bytes, timeout: float = HANDSHAKE_SECONDS) -> None:
    """The API's side: returns once the writer proved the secret; raises HandshakeRefused
    (or an OSError) otherwise. The caller closes."""
    sock.settimeout(timeout)
    greeting = _receive_exactly(sock, len(MAGIC) + NONCE_BYTES)
    if greeting[: len(MAGIC)] != MAGIC:
        raise HandshakeRefused("the peer is not a glowledger writer of this version")
    theirs = greeting[len(MAGIC) :]
    ours = secrets.token_bytes(NONCE_BYTES)
    sock.sendall(ours + _proof(secret, b"api", theirs, ours))
    proof = _receive_exactly(sock, PROOF_BYTES)
    if not hmac.compare_digest(proof, _proof(secret, b"writer", ours, theirs)):
        raise HandshakeRefused("the writer did not prove GLOW_WRITER_SECRET")
    sock.settimeout(None)


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise HandshakeRefused("the peer closed the connection during the handshake")
        data += chunk
    return bytes(data)


def tune(sock: socket.socket, send_timeout_seconds: float | None = None) -> None:
    """Options of a frame connection: no Nagle delay (a frame is one write, answered at
    once), keepalive (a peer that vanished without a FIN is noticed), and on the writer's
    side a kernel send timeout: an API that stops reading must not stall the writer, which
    then drops that connection (its API fails those commands 503 and reconnects)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
    if send_timeout_seconds is not None:
        seconds = int(send_timeout_seconds)
        micros = int((send_timeout_seconds - seconds) * 1_000_000)
        timeval = struct.pack("ll", seconds, micros)  # struct timeval, native
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
