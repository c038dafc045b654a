"""``scrub`` against a plain recursive reference, and what it shares with its input.

The scrubber is tuned (memos, children done inline, containers with nothing to
replace returned as they are rather than copied); a straightforward recursive
scrubber written from the rules says what it must answer. Random trees of the
shapes Sentry's API sends (tags as ``{key, value}``, headers as pairs, time
series, deep nesting past the depth limit, tuples and mapping subclasses).
"""

from __future__ import annotations

import copy
import random
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from sentry_ipy.scrub import FILTERED, is_secret_key, redact_assignments, redact_text, scrub

_SECRETS = ("hunter2-the-token",)
_KEYS = ["title", "id", "count", "password", "api_key", "X-Api-Key", "session", "sessionCount", "key", "value",
         "name", "authors", "pw", "token", "stats", "metadata", "a_b", "cookie"]
_TEXTS = ["plain", "", "Bearer abcdefgh12345678", "token = 'abc'", "https://u:pass@db.example/x",
          "sntrys_abcdefghijklmnop", "hunter2-the-token in text", "api_key=zzz&x=1", "x: 'y'", "é"]


def _reference(value: Any, depth: int = 0) -> Any:
    """The rules of :func:`scrub`, one recursive call per value."""
    if depth > 50:
        return "[Truncated]"
    if isinstance(value, str):
        return redact_assignments(redact_text(value, _SECRETS))
    if isinstance(value, Mapping):
        pair = "value" in value and is_secret_key(value.get("key"))
        return {k: FILTERED if (is_secret_key(k) or (pair and k in ("value", "name")))
                and v not in (None, "", {}, []) else _reference(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], str) \
                and is_secret_key(value[0]) and value[1]:
            return [value[0], FILTERED]
        return [_reference(v, depth + 1) for v in value]
    return value


def _tree(rnd: random.Random, depth: int = 0) -> Any:
    kind = rnd.randrange(10 if depth < 6 else 4)
    if kind == 0:
        return rnd.choice([None, True, 0, 7, 1.5])
    if kind in (1, 2, 3):
        return rnd.choice(_TEXTS)
    if kind == 4:
        return [[rnd.randrange(10), rnd.randrange(5)] for _ in range(rnd.randrange(4))]  # a time series
    if kind == 5:
        return [rnd.choice(_KEYS), rnd.choice(_TEXTS)]  # a header pair
    if kind == 6:
        return {"key": rnd.choice(_KEYS), "value": rnd.choice(_TEXTS)}  # a tag
    if kind == 7:
        return tuple(_tree(rnd, depth + 1) for _ in range(rnd.randrange(3)))
    if kind == 8:
        return [_tree(rnd, depth + 1) for _ in range(rnd.randrange(5))]
    made = {rnd.choice(_KEYS): _tree(rnd, depth + 1) for _ in range(rnd.randrange(6))}
    return OrderedDict(made) if rnd.random() < 0.1 else made


def _deep(levels: int, leaf: Any) -> Any:
    for n in range(levels):
        leaf = {"x": leaf} if n % 2 else [leaf, 1]
    return leaf


def test_scrub_answers_what_the_plain_recursive_rules_answer_and_leaves_its_input_alone() -> None:
    rnd = random.Random(11)
    trees = [_tree(rnd) for _ in range(4000)] + [_deep(n, rnd.choice(_TEXTS)) for n in range(45, 56)]
    for tree in trees:
        before = copy.deepcopy(tree)
        assert scrub(tree, (), _SECRETS) == _reference(tree), tree
        assert tree == before and type(tree) is type(before)


def test_what_holds_nothing_to_replace_is_returned_itself_and_what_does_is_a_new_container() -> None:
    clean = [{"id": "1", "stats": {"24h": [[1, 0], [2, 3]]}, "tags": [{"key": "level", "value": "error"}]}]
    assert scrub(clean) is clean
    dirty = [{"id": "1", "stats": {"24h": [[1, 0]]}, "extra": {"password": "x"}}]
    out = scrub(dirty)
    assert out is not dirty and out[0] is not dirty[0] and out[0]["extra"] == {"password": FILTERED}
    assert out[0]["stats"] is dirty[0]["stats"] and dirty[0]["extra"] == {"password": "x"}
    assert scrub((1, "a")) == [1, "a"] and type(scrub(OrderedDict(a=1))) is dict  # as JSON has them
