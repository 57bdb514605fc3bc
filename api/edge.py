"""The API's edge, before any route runs: who the client is (forwarded headers believed only
from trusted proxies) and how large a request body may be."""
from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from api.config import Network
from api.ratelimit import answer

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(value: str) -> IPAddress | None:
    """An X-Forwarded-For entry as an address: `1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`, `::1`."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address: IPAddress | None, trusted: Sequence[Network]) -> bool:
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in trusted)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The right-most untrusted hop: walk X-Forwarded-For from the right while each hop is a
    trusted proxy. Entries to the left of the first untrusted hop were written by the client
    itself and are never believed. A peer that is not trusted is the client."""
    current = _address(peer)
    if not _trusted(current, trusted):
        return peer
    for hop in reversed(forwarded_for):
        address = _address(hop)
        if address is None:  # garbage where a proxy should have written an address
            break
        current = address
        if not _trusted(address, trusted):
            break
    return str(current)


class TrustedProxyMiddleware:
    """Rewrites the ASGI client (and scheme) from X-Forwarded-For / X-Forwarded-Proto, but only
    when the TCP peer is in TRUSTED_PROXIES. The original peer stays in scope["peer"]."""

    def __init__(self, app, *, trusted: Sequence[Network]):
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            peer = client[0] if client else ""
            scope["peer"] = peer
            if self.trusted and _trusted(_address(peer), self.trusted):
                hops: list[str] = []
                proto = None
                for name, value in scope.get("headers", ()):
                    if name == b"x-forwarded-for":
                        hops.extend(h for h in value.decode("latin-1").split(",") if h.strip())
                    elif name == b"x-forwarded-proto":
                        proto = value.decode("latin-1").split(",")[-1].strip().lower()
                scope["client"] = (client_address(peer, hops, self.trusted), 0)
                if proto in ("http", "https") and scope["type"] == "http":
                    scope["scheme"] = proto
        return await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`: at once from Content-Length, else while reading a
    chunked body. The body (at most `max_bytes`) is read before the app runs, so a route never
    sees half a request."""

    def __init__(self, app, *, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = f"request body too large: at most {self.max_bytes} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return await answer(send, 400, "Content-Length is not a number")
                if length > self.max_bytes:
                    return await answer(send, 413, too_large)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await answer(send, 413, too_large)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for the disconnect
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return await self.app(scope, replay, send)
