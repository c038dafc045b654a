"""Parse what SDKs send: auth headers, compressed bodies and envelopes.

An envelope is a JSON header line followed by items, each a JSON item header
and a payload whose size is given by ``length`` or, when absent, ends at the
next newline. See https://develop.sentry.dev/sdk/envelopes/.

Size limits are Relay's defaults, so what the local backend accepts is what
sentry.io accepts: an envelope (compressed or not) up to 100 MiB and one event
or transaction up to 1 MiB. Bodies are inflated as a stream that stops at the
limit, so a gzip bomb costs at most the limit in memory, never the bomb.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._normalize import has_lone_surrogates, replace_surrogates

__all__ = [
    "MAX_ENVELOPE_SIZE",
    "MAX_EVENT_SIZE",
    "Envelope",
    "EnvelopeError",
    "Item",
    "PayloadTooLargeError",
    "decompress",
    "load_json",
    "parse_auth",
    "parse_envelope",
    "size_text",
]

#: Relay's ``max_envelope_size``: the largest request body, before and after decompression.
MAX_ENVELOPE_SIZE = 100 * 1024 * 1024
#: Relay's ``max_event_size``: the largest event or transaction payload.
MAX_EVENT_SIZE = 1024 * 1024
_CHUNK = 64 * 1024


class EnvelopeError(ValueError):
    """The body is not a valid envelope or item; the message is user-facing."""


class PayloadTooLargeError(EnvelopeError):
    """A body or item is over a size limit; answered with 413."""


def size_text(n: int) -> str:
    """Render a byte count the way the limits are documented (``1 MiB``)."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{n} bytes"


def _finite_float(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def load_json(raw: bytes, what: str) -> Any:
    """Decode a JSON payload into values every read path can serialise again.

    ``NaN``, ``Infinity`` and numbers too large for a float become ``null``
    (Starlette refuses to render them, so a stored one would 500 every read),
    and lone UTF-16 surrogates become U+FFFD (UTF-8 and SQLite cannot encode
    them; browsers send them for a cut emoji).

    Raises:
        EnvelopeError: if ``raw`` is not UTF-8 JSON; ``what`` names the item.
    """
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=lambda _: None, parse_float=_finite_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(f"The {what} is not valid JSON ({exc}); send UTF-8 encoded JSON.") from None
    except RecursionError:
        raise EnvelopeError(f"The {what} is nested too deeply to decode; flatten it.") from None
    return replace_surrogates(value) if has_lone_surrogates(raw) else value


@dataclass
class Item:
    """One envelope item: its header and raw payload bytes."""

    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        """The item type (``event``, ``transaction``, ``session``...)."""
        return str(self.headers.get("type") or "")

    def json(self) -> Any:
        """Decode the payload as JSON.

        Raises:
            EnvelopeError: if the payload is not JSON.
        """
        return load_json(self.payload, f"{self.type or 'untyped'} item")


@dataclass
class Envelope:
    """A parsed envelope."""

    headers: dict[str, Any]
    items: list[Item] = field(default_factory=list)


def _inflate(body: bytes, wbits: int) -> Iterator[bytes]:
    """Yield decompressed chunks of a zlib/gzip/raw-deflate stream (multi-member aware)."""
    data = body
    while data:
        inflater = zlib.decompressobj(wbits)
        while data and not inflater.eof:
            chunk = inflater.decompress(data, _CHUNK)
            data = inflater.unconsumed_tail
            if chunk:
                yield chunk
            elif not data:
                break
        if not inflater.eof:
            raise zlib.error("incomplete or truncated stream")
        data = inflater.unused_data if wbits > 0 else b""


def _brotli(body: bytes) -> Iterator[bytes]:
    try:
        import brotli
    except ImportError:
        raise EnvelopeError("Content-Encoding br needs the brotli package; send gzip instead.") from None
    decoder = brotli.Decompressor()
    for pos in range(0, len(body), 256):
        yield bytes(decoder.process(body[pos : pos + 256]))


def _chunks(body: bytes, enc: str) -> Iterator[bytes]:
    if enc in ("gzip", "x-gzip"):
        return _inflate(body, 16 + zlib.MAX_WBITS)
    if enc == "deflate":
        # RFC 9110 says zlib-wrapped; some clients send raw deflate.
        zlib_header = len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] * 256 + body[1]) % 31 == 0
        wbits = zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS
        return _inflate(body, wbits)
    if enc == "br":
        return _brotli(body)
    raise EnvelopeError(f"Unsupported Content-Encoding {enc!r}; send gzip, deflate, br or identity.")


def decompress(body: bytes, encoding: str | None, limit: int = MAX_ENVELOPE_SIZE, *, head: bool = False) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate, and br when brotli exists).

    Args:
        limit: the most decompressed bytes to produce.
        head: return the first ``limit`` bytes instead of failing (used to
            read an envelope header for authentication before inflating all).

    Raises:
        PayloadTooLargeError: when the output would exceed ``limit``.
        EnvelopeError: for corrupt data or an unsupported encoding.
    """
    enc = (encoding or "").strip().lower()
    chunks = iter([body]) if enc in ("", "identity") else _chunks(body, enc)
    out: list[bytes] = []
    size = 0
    try:
        for chunk in chunks:
            size += len(chunk)
            out.append(chunk)
            if size > limit:
                if head:
                    return b"".join(out)[:limit]
                raise PayloadTooLargeError(
                    f"The body inflates to more than {size_text(limit)}, the limit Relay also applies;"
                    " send smaller envelopes."
                )
    except zlib.error as exc:
        if head:
            return b"".join(out)
        raise EnvelopeError(f"Could not decode the {enc} body ({exc}); check the Content-Encoding header.") from None
    return b"".join(out)


def parse_auth(header: str | None, query: dict[str, str], envelope_dsn: str | None = None) -> str | None:
    """Find the public key in ``X-Sentry-Auth``, the query or the envelope DSN."""
    if header:
        text = header.strip()
        if text.lower().startswith("sentry "):
            text = text[7:]
        for part in text.split(","):
            key, _, value = part.strip().partition("=")
            if key.strip() == "sentry_key" and value.strip():
                return value.strip()
    if query.get("sentry_key"):
        return query["sentry_key"]
    if envelope_dsn:
        user = urlsplit(envelope_dsn).username
        if user:
            return user
    return None


def _read_line(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.find(b"\n", pos)
    if end == -1:
        return data[pos:], len(data)
    return data[pos:end], end + 1


def parse_envelope(data: bytes) -> Envelope:
    """Split an envelope body into its header and items.

    Raises:
        EnvelopeError: on a bad header line, item header or length.
    """
    line, pos = _read_line(data, 0)
    headers = load_json(line, "envelope header") if line.strip() else {}
    if not isinstance(headers, dict):
        raise EnvelopeError("Envelope header must be a JSON object.")
    envelope = Envelope(headers=headers)
    while pos < len(data):
        line, pos = _read_line(data, pos)
        if not line.strip():
            continue
        item_headers = load_json(line, "item header")
        if not isinstance(item_headers, dict):
            raise EnvelopeError("Item header must be a JSON object.")
        length = item_headers.get("length")
        if length is not None:
            if not isinstance(length, int) or isinstance(length, bool) or length < 0:
                raise EnvelopeError("Item length must be a non-negative integer.")
            if pos + length > len(data):
                raise EnvelopeError("Item length runs past the end of the envelope.")
            payload = data[pos : pos + length]
            pos += length
            if pos < len(data) and data[pos : pos + 1] == b"\n":
                pos += 1
        else:
            payload, pos = _read_line(data, pos)
        envelope.items.append(Item(headers=item_headers, payload=payload))
    return envelope
