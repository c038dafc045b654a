"""A magic's line before argparse sees it: the size cap, ``$name`` expansion, the words.

Everything here takes time linear in the line's length, because the line may
be anything a user pasted or a variable held. IPython's own expansion
(``DollarFormatter``) rescans the rest of the line from every position and
``shlex`` grows a word one character at a time: a 10 MB ``%sentry_capture {big}``
kept a kernel busy for minutes. So our magics are registered with
``no_var_expand``, expand the line themselves (:func:`expand_line`, the same
rules, one pass) and split it with :func:`split_line`; a line over
:data:`~sentry_ipy.tools.MAX_ARGUMENT_CHARS` (the limit MCP calls have too) is
one sentence instead.
"""

from __future__ import annotations

import json
import re
import string
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

from IPython.core.error import UsageError
from IPython.utils.text import DollarFormatter

__all__ = ["check_size", "expand_line", "split_line"]


def check_size(prog: str, line: str) -> None:
    """Refuse a line longer than any face accepts, in one sentence that says what to do."""
    from ..tools import MAX_ARGUMENT_CHARS

    if len(line) > MAX_ARGUMENT_CHARS:
        raise UsageError(f"{prog}: the line is {len(line) // 1024} KB, more than the "
                         f"{MAX_ARGUMENT_CHARS // 1024} KB a magic accepts (MCP calls have the same "
                         "limit); pass a shorter value, e.g. a slice such as {text[:8000]}, or call "
                         "sentry_ipy.tools.run_tool from Python.")


# ------------------------------------------------------------------ expansion
#: ``$name`` or ``$$name`` (a literal ``$name``), the names IPython expands.
_DOLLAR = re.compile(r"\$(\$?[\w.]+)")


class _LinearDollarFormatter(DollarFormatter):
    """IPython's ``$name`` / ``{expr}`` formatter with its rules, in one pass.

    IPython finds each ``$name`` with a pattern whose lazy prefix and
    look-ahead (``$`` inside single quotes is left alone) rescan the rest of the
    line from every position. The same rule here: a ``$name`` expands when an
    even number of single quotes follows it in its piece of literal text, the
    quotes counted once, left to right.
    """

    def parse(self, fmt_string: str) -> Iterator[tuple[Any, Any, Any, Any]]:
        for literal, field, spec, conversion in string.Formatter.parse(self, fmt_string):
            quotes_after = literal.count("'")
            counted = 0
            held: list[str] = []  # literal text since the last yield
            start = 0
            for m in _DOLLAR.finditer(literal):
                quotes_after -= literal.count("'", counted, m.end())
                counted = m.end()
                if quotes_after % 2:
                    continue  # inside '...': IPython leaves it as typed
                name = m.group(1)
                held.append(literal[start:m.start()])
                if name.startswith("$"):
                    held.append(name)
                else:
                    yield "".join(held), name, "", None
                    held = []
                start = m.end()
            held.append(literal[start:])
            yield "".join(held), field, spec, conversion


_FORMATTER = _LinearDollarFormatter()


def expand_line(shell: Any, prog: str, line: str) -> str:
    """Expand ``$name`` and ``{expr}`` as IPython would have, then check the size.

    The names come from the user's namespace and the locals of the frame that
    ran the magic (a magic inside a function sees its variables), as
    ``InteractiveShell.var_expand`` reads them; a line that does not format
    stays as typed, as there.
    """
    check_size(prog, line)
    if shell is None or ("$" not in line and "{" not in line):
        return line
    expanded = str(shell.var_expand(line, _caller_depth(), formatter=_FORMATTER))
    check_size(prog, expanded)
    return expanded


def _caller_depth() -> int:
    """How many frames above our caller the magic's caller is, for ``var_expand``'s ``depth``.

    IPython expands with the frame ``stack_depth`` levels above ``run_line_magic``
    (or ``run_cell_magic``); that frame is found here by walking up to it. When
    the magic was called some other way, a depth past the stack makes
    ``var_expand`` use the user's namespace alone.
    """
    from IPython.core.interactiveshell import InteractiveShell

    runners = {InteractiveShell.run_line_magic.__code__, InteractiveShell.run_cell_magic.__code__}
    frame: FrameType | None = sys._getframe(2)  # expand_line's caller (the magic) and up
    depth = 1
    while frame is not None and frame.f_code not in runners:
        frame, depth = frame.f_back, depth + 1
    if frame is None:
        return 1 << 20
    return depth + int(frame.f_locals.get("stack_depth", 1))


# ------------------------------------------------------------------ splitting
_BLANKS = " \t\r\n"  # shlex's whitespace: what separates words
_BLANK_RUN = re.compile(r"[ \t\r\n]+")
_PLAIN_RUN = re.compile(r"[^ \t\r\n'\"\\]+")
_DOUBLE_RUN = re.compile(r'[^"\\]+')
_JSON_MARK = re.compile(r'[][{}"]')
_JSON_STRING_MARK = re.compile(r'["\\]')


def split_line(prog: str, line: str) -> list[str]:
    """Split a magic's line into words as ``shlex.split`` (POSIX) does, in one pass.

    Blanks separate words; ``'...'`` is literal; in ``"..."`` a backslash
    escapes ``"`` and ``\\``; outside quotes it escapes any character. A JSON
    object or array standing as a word of its own stays one word, quotes
    included: ``--tags {json.dumps(t)}`` reaches us as ``--tags {"team": "data"}``,
    which a shell split would turn into ``{team: data}``. An unbalanced quote is
    one ``UsageError`` line, and so is a line over the size limit.
    """
    check_size(prog, line)
    words: list[str] = []
    word: list[str] | None = None
    json_budget = 2 * len(line)  # characters that failed JSON look-aheads may read in all
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in _BLANKS:
            if word is not None:
                words.append("".join(word))
                word = None
            i = _match(_BLANK_RUN, line, i)
            continue
        if word is None:
            word = []
            if c in "{[" and json_budget > 0:
                end, read = _json_word_end(line, i)
                if end is not None:
                    word.append(line[i:end])
                    i = end
                    continue
                json_budget -= read
        if c == "'":
            close = line.find("'", i + 1)
            if close < 0:
                raise _unbalanced(prog, "No closing quotation")
            word.append(line[i + 1:close])
            i = close + 1
        elif c == '"':
            i = _double_quoted(prog, line, i + 1, word)
        elif c == "\\":
            if i + 1 == n:
                raise _unbalanced(prog, "No escaped character")
            word.append(line[i + 1])
            i += 2
        else:
            end = _match(_PLAIN_RUN, line, i)
            word.append(line[i:end])
            i = end
    if word is not None:
        words.append("".join(word))
    return words


def _match(pattern: re.Pattern[str], line: str, i: int) -> int:
    """The end of ``pattern``'s match at ``i`` (the caller knows one character matches)."""
    found = pattern.match(line, i)
    assert found is not None
    return found.end()


def _unbalanced(prog: str, problem: str) -> UsageError:
    return UsageError(f"{prog}: cannot split the line ({problem}); check the quotes.")


def _double_quoted(prog: str, line: str, i: int, word: list[str]) -> int:
    """Append the ``"..."`` text starting at ``i`` (after the quote) to ``word``; return the end."""
    n = len(line)
    while True:
        run = _DOUBLE_RUN.match(line, i)
        if run is not None:
            word.append(run.group())
            i = run.end()
        if i >= n or (line[i] == "\\" and i + 1 == n):
            raise _unbalanced(prog, "No closing quotation")
        if line[i] == '"':
            return i + 1
        escaped = line[i + 1]  # line[i] is a backslash: shlex keeps it unless it escapes " or \
        word.append(escaped if escaped in '"\\' else "\\" + escaped)
        i += 2


def _json_word_end(line: str, start: int) -> tuple[int | None, int]:
    """Where the JSON object or array opening a word at ``start`` ends (None if it is not one).

    Also returns how many characters were read. The brackets are matched in one
    scan (strings skipped), then ``json.loads`` reads the text once; the value
    must end the word. The caller stops looking once failed looks have read as
    twice what the line holds, so ``"[ " * n`` costs a few passes, not ``n``.
    """
    closers: list[str] = []
    i, n = start, len(line)
    while True:
        mark = _JSON_MARK.search(line, i)
        if mark is None:
            return None, n - start
        c, i = mark.group(), mark.end()
        if c == '"':
            while True:
                inner = _JSON_STRING_MARK.search(line, i)
                if inner is None:
                    return None, n - start
                i = inner.end() + (inner.group() == "\\")
                if inner.group() == '"':
                    break
        elif c in "[{":
            closers.append("]" if c == "[" else "}")
        elif not closers or closers.pop() != c:
            return None, i - start
        if not closers:
            break
    if i < n and line[i] not in _BLANKS:
        return None, i - start
    try:
        json.loads(line[start:i])
    except (ValueError, RecursionError):
        return None, i - start
    return i, i - start
