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

import io
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
    "Inflater",
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


class Inflater:
    """Undo a ``Content-Encoding`` chunk by chunk as the body arrives, producing at most ``limit`` bytes.

    Fed the raw body in the pieces the server receives, it never holds more
    than the output so far plus one chunk, so the endpoints can read an
    envelope header (to authenticate) before the rest of the body has been
    sent, and a gzip bomb stops at the limit rather than at the bomb's size.

    Raises (from :meth:`feed` and :meth:`finish`):
        PayloadTooLargeError: when the output would exceed ``limit``.
        EnvelopeError: for corrupt data or an unsupported encoding.
    """

    def __init__(self, encoding: str | None, limit: int = MAX_ENVELOPE_SIZE) -> None:
        self.encoding = (encoding or "").strip().lower() or "identity"
        self.limit = limit
        self.size = 0
        self._wbits: int | None = 0  # 0: identity; None: deflate, decided by its first two bytes
        self._zlib: Any = None
        self._brotli: Any = None
        self._brotli_error: type[Exception] = zlib.error
        self._pending = b""
        if self.encoding in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
        elif self.encoding == "deflate":
            self._wbits = None
        elif self.encoding == "br":
            try:
                import brotli
            except ImportError:
                raise EnvelopeError("Content-Encoding br needs the brotli package; send gzip instead.") from None
            self._brotli, self._brotli_error = brotli.Decompressor(), brotli.error
        elif self.encoding != "identity":
            raise EnvelopeError(
                f"Unsupported Content-Encoding {self.encoding!r}; send gzip, deflate, br or identity."
            )

    def _count(self, chunk: bytes) -> bytes:
        self.size += len(chunk)
        if self.size > self.limit:
            verb = "is larger than" if self.encoding == "identity" else "inflates to more than"
            raise PayloadTooLargeError(
                f"The body {verb} {size_text(self.limit)}, the limit Relay also applies; send smaller envelopes."
            )
        return chunk

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decode the next raw piece of the body, lazily: the caller may stop and resume the iterator."""
        if self._wbits == 0 and self._brotli is None:
            if data:
                yield self._count(data)
            return
        try:
            if self._brotli is not None:  # small pieces: brotli has no output cap per call
                for pos in range(0, len(data), 256):
                    yield self._count(bytes(self._brotli.process(data[pos : pos + 256])))
            else:
                yield from self._feed_zlib(data)
        except (zlib.error, self._brotli_error) as exc:
            raise self._corrupt(exc) from None

    def _feed_zlib(self, data: bytes) -> Iterator[bytes]:
        if self._wbits is None:  # RFC 9110 says zlib-wrapped deflate; some clients send raw deflate
            head = self._pending + data
            if len(head) < 2:
                self._pending = head
                return
            self._pending, data = b"", head
            zlib_wrapped = head[0] & 0x0F == 8 and (head[0] * 256 + head[1]) % 31 == 0
            self._wbits = zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS
        while data:
            if self._zlib is None:
                self._zlib = zlib.decompressobj(self._wbits)
            chunk = self._zlib.decompress(data, _CHUNK)
            data = self._zlib.unconsumed_tail
            if self._zlib.eof:  # a gzip stream may hold several members, one after the other
                data = self._zlib.unused_data if self._wbits > 0 else b""
                self._zlib = None if data else self._zlib
            if chunk:
                yield self._count(chunk)

    def finish(self) -> None:
        """Check the end of the body: raises if a compressed stream was cut short."""
        if self._brotli is not None:
            if not self._brotli.is_finished():
                raise self._corrupt(zlib.error("incomplete or truncated stream"))
        elif self._wbits != 0 and (self._pending or self._zlib is None or not self._zlib.eof):
            raise self._corrupt(zlib.error("incomplete or truncated stream"))

    def _corrupt(self, exc: Exception) -> EnvelopeError:
        return EnvelopeError(
            f"Could not decode the {self.encoding} body ({exc}); check the Content-Encoding header."
        )


def decompress(body: bytes, encoding: str | None, limit: int = MAX_ENVELOPE_SIZE) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate, and br when brotli exists) of a whole body.

    Args:
        limit: the most decompressed bytes to produce.

    Raises:
        PayloadTooLargeError: when the output would exceed ``limit``.
        EnvelopeError: for corrupt data or an unsupported encoding.
    """
    inflater = Inflater(encoding, limit)
    if inflater.encoding == "identity":
        return body if len(body) <= limit else b"".join(inflater.feed(body))
    out = io.BytesIO()
    for pos in range(0, len(body), _CHUNK):
        out.writelines(inflater.feed(body[pos : pos + _CHUNK]))
    inflater.finish()
    return out.getvalue()


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
