"""One denylist and one scrubber for every place a secret could leak.

Used for reprs, log lines, error messages, MCP output and, through the
telemetry ``before_send`` hook, for events before they leave the process.
Keeping a single list means a name added by the user (``extra_keys``) is
honoured everywhere at once.

Two kinds of evidence mark a secret:

* **Its name.** :data:`DEFAULT_DENYLIST` words match anywhere in a key
  (``db_password``, ``X-Api-Key``); :data:`EXACT_DENYLIST` holds short names
  that only count as the whole key (``pw``, ``pass``), because as substrings
  they would hit everyday words (``upward``, ``compass``). ``key`` and
  ``keys`` are deliberately *not* secret names: ``for key in d`` is in most
  notebooks, and hiding every loop variable would make tracebacks useless.
  Names such as ``stripe_key`` are caught by their value instead.
* **Its shape.** :data:`TOKEN_PATTERNS` recognise well-known credential formats
  (Sentry, Stripe, GitHub, Slack, AWS, Google, JWTs, PEM private keys) and the
  password in a URL's userinfo (``postgresql://admin:[Filtered]@db``) wherever
  they appear in text, whatever the variable is called.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ._gcpause import gc_paused

__all__ = [
    "DEFAULT_DENYLIST",
    "EXACT_DENYLIST",
    "FILTERED",
    "TOKEN_PATTERNS",
    "denylisted_names",
    "is_secret_key",
    "redact_assignments",
    "redact_text",
    "replace_secrets",
    "scrub",
]

FILTERED = "[Filtered]"

#: Substrings that mark a key as secret (compared case-insensitively, ignoring
#: ``-`` and ``_``), in the spirit of sentry-python's ``DEFAULT_DENYLIST``.
DEFAULT_DENYLIST: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "signingkey",
    "encryptionkey",
    "authorization",
    "auth",
    "cookie",
    "session",
    "csrf",
    "xsrf",
    "credentials",
    "dsn",
    "bearer",
    "signature",
)

#: Short names that mark a key as secret only when they are the whole key
#: (normalised like the denylist): ``pw`` yes, ``upward`` no.
EXACT_DENYLIST: frozenset[str] = frozenset({"pw", "pass", "pword", "creds", "cred", "psk"})

# Keys that contain a denylisted word but are not secrets.
_ALLOWED = frozenset({"sessionid", "author", "authors", "authorname", "sessions", "tokens_used"})

#: Credential shapes recognised in any text, each with the literal pieces (compared
#: case-insensitively) at least one of which its match must contain. A pattern with a group
#: keeps that group (a URL's scheme and user, ``Bearer``) and replaces the rest of the match.
#:
#: Every pattern costs time linear in the text: each starts at a literal or at the start of a
#: run, and no two variable-length parts can both match the same characters. The literals let
#: ordinary text skip a pattern after one fast substring search.
_SHAPES: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("sntr",), re.compile(r"sntry[su]_[A-Za-z0-9_=+/.-]{10,}")),  # Sentry org (sntrys_) and user (sntryu_) tokens
    (("bearer",), re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_=+/.-]{8,}")),
    (("://",), re.compile(r"(?i)(https?://)[0-9a-f]{16,}(?::[0-9a-f]{16,})?(?=@)")),  # DSN keys
    # A password in a URL's userinfo: scheme://user:[Filtered]@host.
    (("://",), re.compile(r"(?i)(\b[a-z][a-z0-9+.-]{0,30}://[^\s:/?#@'\"]*:)[^\s/?#@'\"]+(?=@)")),
    (("_live_", "_test_"), re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{8,}")),  # Stripe keys
    (("gh",), re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}")),  # GitHub tokens
    (("github_pat_",), re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}")),
    (("xox",), re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}")),  # Slack tokens
    (("akia", "asia"), re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),  # AWS access key IDs
    (("aiza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),  # Google API keys
    # JWTs; the look-behind starts a match only where a base64url run starts, so a long run of
    # ``eyJx-eyJx-…`` is scanned once, not once per ``eyJ`` in it.
    (("eyj",), re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")),
    # PEM private keys; a block cut off by a size limit is redacted to the end.
    (("private key-----",),
     re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
                re.DOTALL)),
)

#: Any shape's literal, for one search that clears ordinary text of every shape at once. Only
#: for ASCII text, where ``re.IGNORECASE`` and ``str.lower`` agree on what a literal matches.
_ANY_NEEDLE = re.compile("|".join(re.escape(n) for needles, _ in _SHAPES for n in needles), re.IGNORECASE)

#: The credential shapes alone (see :data:`_SHAPES`).
TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = tuple(pattern for _, pattern in _SHAPES)


def _norm(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


def denylisted_names(extra_keys: Iterable[str] = ()) -> list[str]:
    """Every key name the project treats as secret, for scrubbers that match whole keys (sentry-sdk's)."""
    return [*DEFAULT_DENYLIST, *sorted(EXACT_DENYLIST), *extra_keys]


def is_secret_key(key: object, extra_keys: Iterable[str] = ()) -> bool:
    """Tell whether a mapping key names something secret."""
    if not isinstance(key, str):
        return False
    extra = tuple(extra_keys)
    # Cached for short names only: text full of ``a=b&`` pairs asks about the same few names
    # again and again, and the cache must not keep megabyte keys alive.
    return _cached_secret_name(key, extra) if len(key) <= 64 else _is_secret_name(key, extra)


def _is_secret_name(key: str, extra_keys: tuple[str, ...]) -> bool:
    norm = _norm(key)
    if norm in _ALLOWED:
        return False
    if norm in EXACT_DENYLIST:
        return True
    words = (*DEFAULT_DENYLIST, *(_norm(k) for k in extra_keys))
    return any(word and word in norm for word in words)


_cached_secret_name = functools.lru_cache(maxsize=4096)(_is_secret_name)


def _keep_group(m: re.Match[str]) -> str:
    return (m.group(1) or "") + FILTERED if m.re.groups else FILTERED


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Replace known secret values and token-shaped strings in free text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, FILTERED)
    if text.isascii() and _ANY_NEEDLE.search(text) is None:
        return text  # most text holds no shape's literal: one search instead of one per shape
    folded = text.lower()
    for needles, pattern in _SHAPES:
        if any(needle in folded for needle in needles):
            text = pattern.sub(_keep_group, text)
    return text


# ``token = "abc"``, ``"password": 'x'``, ``auth = ("u", "p")``, ``api_key=abc123``:
# a secret-named key and its literal value (a string, or a short bracketed literal).
#
# Linear by construction, whatever the text: a key is a *whole* run of name characters (the
# look-behind refuses to start inside one, so ``EEEE…`` is scanned once rather than once from
# every position); a bracketed value stops at the next bracket and a quoted one at the next quote
# (so a value scan never runs over the start of another candidate); every value is at most 500
# characters. Each position is therefore looked at a bounded number of times.
_ASSIGNMENT = re.compile(
    r"""(?<![\w.-])(?:(?P<key>[\w.-]+)(?P<q0>["']?)(?P<sep>\s*[:=]\s*)"""
    r"""(?:(?P<q>["'])(?P<val>[^"'\n]{1,500})(?P=q)"""
    r"""|(?P<open>[(\[{])(?P<inner>[^()\[\]{}\n]{1,500})(?P<close>[)\]}]))"""
    r"""|(?P<ukey>[\w.-]+)=(?P<uval>[^\s&;,"'()]{1,500}))""")


#: What every ``key: value`` assignment :data:`_ASSIGNMENT` blanks holds (``=`` aside).
_COLON_VALUE = re.compile(r"""[:]\s*["'(\[{]""")


def redact_assignments(text: str, extra_keys: Iterable[str] = ()) -> str:
    """Blank the values assigned to secret-named keys in free text.

    Covers source lines and reprs (``token = "abc"``, ``{"password": "x"}``,
    ``auth = ("user", "pw")``) and query or log style pairs (``api_key=abc123``).
    Used for event text, where sentry-sdk sends the source lines around each
    frame and frame variables as reprs: a secret typed as a literal in a
    notebook cell would otherwise travel with the traceback.
    """
    if "=" not in text and (":" not in text or _COLON_VALUE.search(text) is None):
        return text  # every assignment has ``=``, or ``:`` before a quote or bracket: nothing to blank
    extra = tuple(extra_keys)

    def repl(m: re.Match[str]) -> str:
        if m.group("key") is not None:
            head = f"{m.group('key')}{m.group('q0')}{m.group('sep')}"
            if not is_secret_key(m.group("key"), extra):
                # The value may itself hold pairs: ``headers = {"X-Api-Key": "..."}`` or
                # ``url = "https://h/?api_key=abc"`` (a quoted value has no quotes, so only ``=``).
                rest = m.group(0)[len(head):]
                inner = m.group("inner")
                nested = ("=" in inner or ":" in inner) if inner is not None else "=" in m.group("val").rstrip("=")
                return head + redact_assignments(rest, extra) if nested else m.group(0)
            if m.group(0).endswith(FILTERED) and len(m.group(0)) == len(head) + len(FILTERED):
                return m.group(0)  # already blanked by its shape
            if m.group("open") is not None:
                return f"{head}{m.group('open')}{FILTERED}{m.group('close')}"
            return f"{head}{m.group('q')}{FILTERED}{m.group('q')}"
        if not is_secret_key(m.group("ukey"), extra):
            return m.group(0)
        return f"{m.group('ukey')}={FILTERED}"

    return _ASSIGNMENT.sub(repl, text)


def scrub(value: Any, extra_keys: Iterable[str] = (), secrets: Iterable[str | None] = (),
          _depth: int = 0) -> Any:
    """Return ``value`` with secret-named keys and secret values replaced, never changing ``value`` itself.

    Walks dicts, lists and tuples (to a bounded depth, so a cyclic or very deep
    structure cannot hang the caller); strings are passed through
    :func:`redact_text` and :func:`redact_assignments`. Name/value pairs count
    like keys, in both spellings Sentry's API uses: ``{"key": "authorization",
    "value": "..."}`` (tags) and ``["Authorization", "..."]`` (headers, cookies).
    The same function scrubs events before they leave and event data before a
    person or a model sees it (tool results, the local web UI).

    What needs a replacement is a new dict or list; a dict or list holding nothing
    to replace is returned as it is (shared with ``value``, not copied: for a list
    of 10,000 issues that is some 400,000 containers fewer to build and for the
    cycle collector to walk). Tuples and other sequences and mappings always come
    back as lists and dicts, as JSON has them.
    """
    extra = tuple(extra_keys)
    known = tuple(s for s in secrets if s)
    # This call's answers, for the key names and texts that repeat across rows (a list of issues
    # has the same keys and many of the same values on every row).
    secret_names: dict[object, bool] = {}
    texts: dict[str, str] = {}

    def secret_name(key: object) -> bool:
        answer = secret_names.get(key) if type(key) is str else None  # a pair's name may be unhashable
        if answer is None:
            if not isinstance(key, str):
                return False  # only a string names a secret
            answer = secret_names[key] = is_secret_key(key, extra)
        return answer

    def text(value: str) -> str:
        done = texts.get(value)
        if done is None:
            # Shapes first: ``authorization=Bearer abc`` must lose ``abc`` as well as ``Bearer``.
            done = texts[value] = redact_assignments(redact_text(value, known), extra)
        return done

    def walk(value: Any, depth: int) -> Any:
        if depth > 50:
            return "[Truncated]"
        kind = type(value)
        if kind is str:
            return text(value)
        if kind in _SCALARS:
            return value
        # Children are done here, as walk would do them but without a call each, when they are
        # text or scalars (most of them) or, in a list, a pair of scalars (a time series point);
        # near the depth limit, where walk would truncate them, walk decides. A list or dict
        # whose children all come back unchanged is returned itself, not copied.
        if kind is list or kind is tuple:  # exactly these are never a Mapping: ask them first
            if len(value) == 2 and type(value[0]) not in _SCALARS and isinstance(value[0], str) \
                    and isinstance(value[1], str) and secret_name(value[0]) and value[1]:
                # A ``[name, value]`` pair: how Sentry's API spells headers, cookies and query.
                return [value[0], FILTERED]
            if depth >= 49:
                return [walk(v, depth + 1) for v in value]
            items: list[Any] | None = None if kind is list else []
            for i, v in enumerate(value):
                vkind = type(v)
                if vkind is str:
                    new = text(v)
                elif vkind in _SCALARS or (vkind is list and len(v) == 2 and type(v[0]) in _SCALARS
                                           and type(v[1]) in _SCALARS):
                    new = v
                else:
                    new = walk(v, depth + 1)
                if items is not None:
                    items.append(new)
                elif new is not v:
                    items = value[:i]
                    items.append(new)
            return value if items is None else items
        if kind is dict or isinstance(value, Mapping):
            return _walk_mapping(value, depth)
        if isinstance(value, (list, tuple)):
            return walk(list(value), depth)  # a subclass: walked as the list it holds
        if isinstance(value, str):
            return text(value)
        return value

    def _walk_mapping(value: Mapping[Any, Any], depth: int) -> Mapping[Any, Any]:
        pair_named = "value" in value and secret_name(value.get("key"))
        inline = depth < 50
        out: dict[Any, Any] | None = None if type(value) is dict else dict(value)
        for k, v in value.items():
            named = secret_names.get(k)
            if named is None:
                named = secret_name(k)
            new: Any
            if (named or (pair_named and k in ("value", "name"))) and v not in (None, "", {}, []):
                new = FILTERED
            elif inline and type(v) is str:
                done = texts.get(v)
                new = text(v) if done is None else done
            elif inline and type(v) in _SCALARS:
                continue
            else:
                new = walk(v, depth + 1)
            if new is not v:
                if out is None:
                    out = dict(value)
                out[k] = new
        return value if out is None else out

    if type(value) is str:
        return walk(value, _depth)
    with gc_paused():  # the copy is a tree of plain data, often large (every row of a list result)
        return walk(value, _depth)


#: Types :func:`scrub` returns as they are, checked by identity before any ``isinstance``.
_SCALARS = frozenset({int, float, bool, type(None)})


def replace_secrets(value: Any, secrets: Iterable[str | None]) -> Any:
    """Return a copy of ``value`` with each known secret value replaced, keys and shapes untouched.

    The light pass for answers that are data, not free text (an MCP result):
    :func:`scrub` would also blank every secret-*named* key (a release's
    ``authors``, a ``session`` count) and change the answer; this only makes sure
    the token we hold is never echoed back.
    """
    known = tuple(s for s in secrets if s)
    if not known:
        return value
    if isinstance(value, str):
        for secret in known:
            value = value.replace(secret, FILTERED)
        return value
    if isinstance(value, Mapping):
        return {k: replace_secrets(v, known) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [replace_secrets(v, known) for v in value]
    return value
