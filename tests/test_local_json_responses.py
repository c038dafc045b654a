"""The local Web API's JSON encoder (orjson) against the standard library's it replaced.

Every answer of the API goes through :class:`FastJSONResponse`; what it writes
must decode to what Starlette's own ``JSONResponse`` wrote, for any JSON value a
handler can build, and what orjson refuses must still be written as before.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from starlette.responses import JSONResponse

from sentry_ipy.local.api._plumbing import FastJSONResponse

_TEXTS = ["", "plain", "é ü ß", "日本語", "emoji 🎉", "quote \" and \\ backslash", "tab\tnew\nline\r", "\x00\x01\x1f",
          "\u2028\u2029", "</script>", "a" * 300, "\ufeffbom", "\U0010ffff"]


def _value(rnd: random.Random, depth: int = 0) -> Any:
    kind = rnd.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rnd.random() < 0.5
    if kind == 2:
        return rnd.choice([0, -1, 1, 2**31, -(2**53), 2**63 - 1, -(2**63), rnd.randrange(-10**12, 10**12)])
    if kind == 3:
        return rnd.choice([0.0, -0.0, 0.1, 1e-05, 1e16, 1.5e300, 5e-324, rnd.uniform(-1e6, 1e6), 1764600000.123456])
    if kind in (4, 5):
        return rnd.choice(_TEXTS) + str(rnd.randrange(100))
    if kind == 6:
        return [_value(rnd, depth + 1) for _ in range(rnd.randrange(5))]
    if kind == 7:
        return tuple(_value(rnd, depth + 1) for _ in range(rnd.randrange(3)))
    return {rnd.choice(_TEXTS) + str(i): _value(rnd, depth + 1) for i in range(rnd.randrange(6))}


def test_what_it_writes_decodes_to_what_the_standard_encoder_wrote() -> None:
    rnd = random.Random(3)
    for _ in range(3000):
        value = _value(rnd)
        ours, theirs = FastJSONResponse(value).body, JSONResponse(value).body
        assert json.loads(ours) == json.loads(theirs), value
        assert b"\\u00e9" not in ours  # UTF-8 as it is, as Starlette writes it, not ASCII escapes


def test_what_orjson_refuses_is_written_by_the_standard_library() -> None:
    for value in ({"big": 2**70}, {1: "int key"}, [-(2**64)], {"nested": {2.5: [1]}}):
        assert FastJSONResponse(value).body == JSONResponse(value).body
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate cannot be UTF-8, with either encoder
        FastJSONResponse({"bad": "\ud800"})


def test_a_number_json_cannot_hold_becomes_null_instead_of_an_error() -> None:
    assert json.loads(FastJSONResponse({"p95": math.nan, "max": math.inf}).body) == {"p95": None, "max": None}
