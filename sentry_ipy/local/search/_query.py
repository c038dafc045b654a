"""Sentry search syntax: parse ``key:value`` terms, boolean groups and comparisons.

Supports ``key:value``, ``key:"quoted value"``, ``!key:value`` negation,
``*`` wildcards, ``key:[a, b]`` lists, comparisons (``key:>5``, ``>=``, ``<``,
``<=``) on numbers and dates (ISO dates or relative times like ``-24h``), bare
(or quoted) free text, and, where the endpoint allows it as Discover does,
``OR``/``AND`` with parentheses (``AND`` binds tighter; adjacent terms are
ANDed). Matching is case-insensitive like Sentry's tag search.

Handlers decide what each key means; this module parses, validates values
(raising :class:`QueryError`, which the app renders as a 400) and compares.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
import typing
from typing import Any, Union

from .._clock import now, parse_timestamp

__all__ = [
    "date_comparisons",
    "number_comparisons",
    "And",
    "Expr",
    "Or",
    "QueryError",
    "Term",
    "evaluate",
    "leaves",
    "match_any",
    "match_date",
    "match_number",
    "match_value",
    "parse_query",
    "parse_search",
    "validate_values",
]

_TOKEN_RE = re.compile(
    r"""\s*(?:
      (?P<open>\()
    | (?P<close>\))
    | (?P<bool>(?:OR|AND)(?=[\s()]|$))
    | (?P<neg>!)?(?P<key>[A-Za-z_][\w.\-\[\]]*(?:\([\w.,]*\))?):(?P<op>>=|<=|>|<|=)?
      (?P<val>"(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^\s()]*)
    | (?P<text>"(?:[^"\\]|\\.)*"|[^\s()]+)
    )""",
    re.VERBOSE,
)
_RELATIVE_RE = re.compile(r"^([+-])(\d{1,6})([smhdw])$")
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_BOOLEAN_UNSUPPORTED = 'Boolean statements containing "OR" or "AND" are not supported in this search.'


class QueryError(ValueError):
    """A search query cannot be used; the message is one user-facing sentence."""


@dataclass(frozen=True)
class Term:
    """One search term; ``key`` is None for free text, ``op`` is ``=`` or a comparison."""

    key: str | None
    values: tuple[str, ...]
    negate: bool = False
    op: str = "="

    @property
    def value(self) -> str:
        """The first (usually only) value."""
        return self.values[0] if self.values else ""


@dataclass(frozen=True)
class And:
    """All parts must match (an empty ``And`` matches everything)."""

    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """At least one part must match."""

    parts: tuple[Expr, ...]


Expr = Union[Term, And, Or]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _tokens(query: str) -> list[Any]:
    out: list[Any] = []
    for match in _TOKEN_RE.finditer(query):
        if match.group("open") or match.group("close") or match.group("bool"):
            out.append(match.group("open") or match.group("close") or match.group("bool"))
        elif match.group("key"):
            raw = match.group("val")
            if raw.startswith("[") and raw.endswith("]"):
                values = tuple(_unquote(v.strip()) for v in raw[1:-1].split(",") if v.strip())
            else:
                values = (_unquote(raw),)
            out.append(Term(match.group("key").lower(), values, bool(match.group("neg")), match.group("op") or "="))
        elif match.group("text"):
            text = _unquote(match.group("text"))
            if text:
                out.append(Term(None, (text,)))
    return out


class _Parser:
    def __init__(self, tokens: list[Any]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> Any:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def expr(self) -> Expr:
        parts = [self.conjunction()]
        while self.peek() == "OR":
            if parts[-1] == And(()):
                raise QueryError("Condition is missing on the left side of 'OR'; put a filter before it.")
            self.pos += 1
            right = self.conjunction()
            if right == And(()):
                raise QueryError("Condition is missing on the right side of 'OR'; put a filter after it.")
            parts.append(right)
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conjunction(self) -> Expr:
        parts: list[Expr] = []
        while self.peek() not in (None, ")", "OR"):
            if self.peek() == "AND":
                self.pos += 1
                if not parts or self.peek() in (None, ")", "OR", "AND"):
                    raise QueryError("Condition is missing on one side of 'AND'; put a filter on both sides.")
                continue
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def atom(self) -> Expr:
        token = self.peek()
        self.pos += 1
        if token != "(":
            return typing.cast(Expr, token)
        inner = self.expr()
        if self.peek() != ")":
            raise _unbalanced()
        self.pos += 1
        return inner


def _unbalanced() -> QueryError:
    return QueryError("Parentheses are not balanced in the query; close each one or put text in double quotes.")


def parse_search(query: str | None, *, allow_boolean: bool = True) -> Expr:
    """Parse a search string into an expression tree.

    Args:
        allow_boolean: False for searches where Sentry rejects ``OR``/``AND``
            (issue search); parentheses then only group.

    Raises:
        QueryError: unbalanced parentheses, a dangling operator, or a boolean
            operator where it is not supported.
    """
    tokens = _tokens(query or "")
    if not allow_boolean and any(t in ("OR", "AND") for t in tokens):
        raise QueryError(_BOOLEAN_UNSUPPORTED)
    parser = _Parser(tokens)
    expr = parser.expr()
    if parser.peek() is not None:
        raise _unbalanced()
    return expr


def leaves(expr: Expr) -> Iterator[Term]:
    """Yield every term of an expression, left to right."""
    if isinstance(expr, Term):
        yield expr
    else:
        for part in expr.parts:
            yield from leaves(part)


def parse_query(query: str | None) -> list[Term]:
    """Parse a search without boolean operators into its terms (all must match).

    Raises:
        QueryError: for ``OR``/``AND`` or unbalanced parentheses.
    """
    return list(leaves(parse_search(query, allow_boolean=False)))


def evaluate(expr: Expr, predicate: Callable[[Term], bool]) -> bool:
    """Evaluate an expression with ``predicate`` deciding each term."""
    if isinstance(expr, Term):
        return predicate(expr)
    if isinstance(expr, And):
        return all(evaluate(p, predicate) for p in expr.parts)
    return any(evaluate(p, predicate) for p in expr.parts)


def _number(term: Term) -> float:
    try:
        return float(term.value)
    except ValueError:
        raise QueryError(f"Invalid number for {term.key}: {term.value!r}; use a number, e.g. {term.key}:>5.") from None


def _date_range(term: Term) -> tuple[float, float]:
    """Return the ``[lo, hi)`` instant range a date value denotes."""
    rel = _RELATIVE_RE.match(term.value)
    if rel:
        point = now() - int(rel.group(2)) * _UNITS[rel.group(3)]
        return point, point
    ts = parse_timestamp(term.value) if _ISO_DATE_RE.match(term.value) else None
    if ts is None:
        raise QueryError(
            f"Invalid date for {term.key}: {term.value!r}; use an ISO date like 2024-05-01 or a relative time like -24h."
        )
    return ts, ts + (86400 if len(term.value) == 10 else 1)


def _comparisons(op: str, lo: float, hi: float) -> list[tuple[str, float]]:
    """:func:`_compare` as SQL comparisons that must all hold."""
    if op != "=":
        return [(op, lo)]
    return [(">=", lo), ("<", hi)] if hi > lo else [("=", lo)]


def date_comparisons(term: Term) -> list[tuple[str, float]]:
    """What :func:`match_date` checks (before negation), as ``(operator, epoch)`` pairs for SQL.

    Raises:
        QueryError: a date that cannot be read.
    """
    lo, hi = _date_range(term)
    rel = _RELATIVE_RE.match(term.value)
    if rel and term.op == "=":
        return [(">=" if rel.group(1) == "-" else "<=", lo)]
    return _comparisons(term.op, lo, hi)


def number_comparisons(term: Term) -> list[tuple[str, float]]:
    """What :func:`match_number` checks (before negation), as ``(operator, number)`` pairs for SQL.

    Raises:
        QueryError: a value that is not a number.
    """
    n = _number(term)
    return _comparisons(term.op, n, n)


def validate_values(expr: Expr, numbers: frozenset[str], dates: frozenset[str]) -> None:
    """Check every comparison up front, so a bad value is a 400 even with no rows.

    Raises:
        QueryError: a number or date that cannot be read, or ``>``/``<`` on a
            key that is neither.
    """
    for term in leaves(expr):
        if term.key in numbers:
            _number(term)
        elif term.key in dates:
            _date_range(term)
        elif term.op != "=" and term.key is not None:
            raise QueryError(f"{term.key} cannot be compared with {term.op}; use {term.key}:value.")


def _compare(op: str, actual: float, lo: float, hi: float) -> bool:
    """Compare with the start of a value's range; ``=`` means inside the range."""
    if op == ">":
        return actual > lo
    if op == ">=":
        return actual >= lo
    if op == "<":
        return actual < lo
    if op == "<=":
        return actual <= lo
    return lo <= actual < hi if hi > lo else actual == lo


def match_number(term: Term, value: Any) -> bool:
    """Apply a numeric term (``times_seen:>5``) to a value; None never matches."""
    hit = value is not None and _compare(term.op, float(value), _number(term), _number(term))
    return hit != term.negate


def match_date(term: Term, ts: Any) -> bool:
    """Apply a date term (ISO date, or ``-24h`` = within the last 24 hours) to epoch seconds."""
    if ts is None:
        return term.negate
    lo, hi = _date_range(term)
    rel = _RELATIVE_RE.match(term.value)
    if rel and term.op == "=":
        hit = ts >= lo if rel.group(1) == "-" else ts <= lo
    else:
        hit = _compare(term.op, float(ts), lo, hi)
    return bool(hit != term.negate)


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
