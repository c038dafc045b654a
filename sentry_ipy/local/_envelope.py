"""Parse what SDKs send: auth headers, compressed bodies and envelopes.

An envelope is a JSON header line followed by items, each a JSON item header
and a payload whose size is given by ``length`` or, when absent, ends at the
next newline. See https://develop.sentry.dev/sdk/envelopes/.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Envelope", "EnvelopeError", "Item", "decompress", "parse_auth", "parse_envelope"]


class EnvelopeError(ValueError):
    """The body is not a valid envelope or item; the message is user-facing."""


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
        try:
            return json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError(f"Item of type {self.type!r} is not valid JSON: {exc}") from None


@dataclass
class Envelope:
    """A parsed envelope."""

    headers: dict[str, Any]
    items: list[Item] = field(default_factory=list)


def decompress(body: bytes, encoding: str | None) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate, and br when brotli exists).

    Raises:
        EnvelopeError: for corrupt data or an unsupported encoding.
    """
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity"):
        return body
    try:
        if enc in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if enc == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
        if enc == "br":
            try:
                import brotli  # type: ignore[import-not-found]
            except ImportError:
                raise EnvelopeError("Content-Encoding br needs the brotli package.") from None
            return bytes(brotli.decompress(body))
    except (OSError, EOFError, zlib.error) as exc:
        raise EnvelopeError(f"Could not decode {enc} body: {exc}") from None
    raise EnvelopeError(f"Unsupported Content-Encoding {enc!r}.")


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
    try:
        headers = json.loads(line.decode("utf-8")) if line.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EnvelopeError("Envelope header is not valid JSON.") from None
    if not isinstance(headers, dict):
        raise EnvelopeError("Envelope header must be a JSON object.")
    envelope = Envelope(headers=headers)
    while pos < len(data):
        line, pos = _read_line(data, pos)
        if not line.strip():
            continue
        try:
            item_headers = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise EnvelopeError("Item header is not valid JSON.") from None
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
