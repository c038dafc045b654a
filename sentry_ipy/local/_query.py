"""Sentry search syntax: split ``key:value`` terms and match them.

Supports ``key:value``, ``key:"quoted value"``, ``!key:value`` negation,
``*`` wildcards, ``key:[a, b]`` lists and bare (or quoted) free text. Matching
is case-insensitive like Sentry's tag search. Handlers decide what each key
means; this module only parses and compares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Term", "match_any", "match_value", "parse_query"]

_TOKEN_RE = re.compile(
    r'\s*(?:(?P<neg>!)?(?P<key>[A-Za-z_][\w.\-\[\]()]*):(?P<val>"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\S*)'
    r'|(?P<text>"(?:[^"\\]|\\.)*"|\S+))'
)


@dataclass(frozen=True)
class Term:
    """One search term; ``key`` is None for free text."""

    key: str | None
    values: tuple[str, ...]
    negate: bool = False

    @property
    def value(self) -> str:
        """The first (usually only) value."""
        return self.values[0] if self.values else ""


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse_query(query: str | None) -> list[Term]:
    """Split a search string into terms (never raises; junk becomes free text)."""
    terms: list[Term] = []
    for match in _TOKEN_RE.finditer(query or ""):
        if match.group("key"):
            raw = match.group("val")
            if raw.startswith("[") and raw.endswith("]"):
                values = tuple(_unquote(v.strip()) for v in raw[1:-1].split(",") if v.strip())
            else:
                values = (_unquote(raw),)
            terms.append(Term(match.group("key").lower(), values, bool(match.group("neg"))))
        elif match.group("text"):
            text = _unquote(match.group("text"))
            if text:
                terms.append(Term(None, (text,)))
    return terms


def match_value(pattern: str, value: Any) -> bool:
    """Compare a term value to a field value (``*`` wildcards, case-insensitive)."""
    if value is None:
        return pattern == "" or pattern.lower() in ("none", "null")
    text = str(value)
    if "*" in pattern:
        regex = ".*".join(re.escape(part) for part in pattern.split("*"))
        return re.fullmatch(regex, text, flags=re.IGNORECASE | re.DOTALL) is not None
    return text.lower() == pattern.lower()


def match_any(term: Term, candidates: list[Any]) -> bool:
    """Apply a term (with its negation) to the values a field has on a row."""
    hit = any(match_value(v, c) for v in term.values for c in candidates)
    return not hit if term.negate else hit
