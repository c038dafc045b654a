"""Parameter types and fields shared by the API tools.

The seed's schemas say ``"type": "number"`` for counts; :data:`Number` keeps
that wire type while validating to ``int``. Neither it nor :data:`Seconds`
takes ``true`` for 1 (pydantic's lax mode would) or a non-finite float. Fields used by several tools
(project slug, limit, period) live here once, so their descriptions, which
become MCP descriptions, stay short and identical everywhere. Property
descriptions are fragments without a final period: they say what the name and
type do not (format, default, range), and are left out when there is nothing to add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

__all__ = [
    "FromVariable",
    "JsonObject",
    "Level",
    "MAX_LIMIT",
    "Number",
    "Params",
    "Seconds",
    "Text",
    "environment_field",
    "limit_field",
    "period_field",
    "project_field",
]

def _no_bool(value: Any) -> Any:
    """Refuse booleans where a number belongs: ``{"limit": true}`` is a mistake, not 1."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


#: An integer that advertises ``"type": "number"`` like the seed (``5.0`` validates as 5).
Number = Annotated[int, BeforeValidator(_no_bool), WithJsonSchema({"type": "number"})]

#: A finite, non-negative number of seconds (``Infinity`` and ``NaN`` are refused).
Seconds = Annotated[float, BeforeValidator(_no_bool), Field(ge=0, allow_inf_nan=False)]

#: Event severity, as Sentry names it.
Level = Literal["fatal", "error", "warning", "info", "debug"]

#: Upper bound for any ``limit``: enough for analysis, bounded for a model's context.
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class FromVariable:
    """Marks an argument a notebook magic may give as a variable's name (``-i df``).

    The magic passes the variable's value itself (a DataFrame of issues, say), so
    the field's validator, not the notebook, decides what it accepts.
    """

    flag: str


class Params(BaseModel):
    """Base for tool parameter models: unknown arguments are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


def project_field() -> Any:
    """The required ``projectSlug`` argument (a numeric ID works too; the name says enough)."""
    return Field()


def limit_field(default: int, what: str) -> Any:
    """A ``limit`` argument: how many ``what`` to fetch across pages (``maximum`` in the schema)."""
    return Field(default, ge=1, le=MAX_LIMIT,
                 json_schema_extra={"maximum": MAX_LIMIT})


def period_field(default: str | None = "14d") -> Any:
    """A ``statsPeriod`` argument (``24h``, ``14d``...); the pattern says the format."""
    return Field(default, pattern=r"^\d+[smhdw]$")


def environment_field() -> Any:
    """An optional ``environment`` filter (its name says it all)."""
    return Field(None)


# -- SDK tools (capture, scope, tracing, sessions) ----------------------------------------

def _to_text(value: Any) -> Any:
    from ..telemetry import clean_text

    return clean_text(value) if isinstance(value, (str, bytes, bytearray)) else value


#: Free text from any face: bytes are decoded with replacement characters and lone
#: surrogates replaced, so malformed input still yields an event instead of an error.
Text = Annotated[str, BeforeValidator(_to_text)]

#: A JSON object argument (``context``, ``data``).
JsonObject = dict[str, Any]
