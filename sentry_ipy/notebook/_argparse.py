"""Command-line parsers for magics, generated from a tool's parameter model.

A required text field becomes a positional argument (``%sentry_issues backend``);
every field is also an option in its seed spelling and in kebab case
(``--projectSlug`` / ``--project-slug``). Objects and arrays take JSON.
"""

from __future__ import annotations

import argparse
import builtins
import enum
import json
import keyword
import re
import shlex
import typing
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from ..tools import ToolSpec

__all__ = ["HelpShown", "MagicParser", "output_name", "parse_line", "parse_magic_line", "split_line",
           "tool_parser"]


class HelpShown(Exception):
    """Raised instead of exiting after ``-h`` printed the help."""


class MagicParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that reports errors as ``UsageError`` and never exits the kernel."""

    def error(self, message: str) -> typing.NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} -h)")

    def exit(self, status: int = 0, message: str | None = None) -> typing.NoReturn:
        if message:
            print(message)
        raise HelpShown()


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower().replace("_", "-")


def _number(text: str) -> float:
    """``--limit 5``; ``--limit abc`` is "expected a number", not argparse's "invalid float value"."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected JSON, got {text!r}") from None


def _field_kind(annotation: Any) -> tuple[str, tuple[str, ...]]:
    """Classify a field: ('text'|'number'|'bool'|'json'|'list', enum choices)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "text", tuple(str(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _field_kind(args[0])
    if args and origin not in (list, dict):
        return _field_kind(args[0])
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "text", tuple(str(m.value) for m in annotation)
    if annotation is bool:
        return "bool", ()
    if annotation in (int, float):
        return "number", ()
    if origin is list and args and args[0] is str:
        return "list", ()
    if origin in (list, dict) or annotation in (dict, list) or annotation is typing.Any:
        return "json", ()
    if hasattr(annotation, "model_fields"):  # a nested model (--user '{"id": "42"}')
        return "json", ()
    return "text", ()


def _schema_hint(prop: dict[str, Any]) -> str:
    """What the schema says about accepted values, for fields whose help would be empty otherwise."""
    hints = []
    if prop.get("enum"):
        hints.append("one of " + ", ".join(str(v) for v in prop["enum"]))
    if prop.get("pattern"):
        hints.append(f"matching {prop['pattern']}")
    if prop.get("format"):
        hints.append(f"format {prop['format']}")
    low, high = prop.get("minimum"), prop.get("maximum")
    if low is not None and high is not None:
        hints.append(f"{low} to {high}")
    elif low is not None or high is not None:
        hints.append(f"at least {low}" if low is not None else f"at most {high}")
    return "; ".join(hints)


def _from_variable(annotation: Any) -> Any:
    """The :class:`~sentry_ipy.tools.FromVariable` marker anywhere in ``annotation``, or None."""
    from ..tools import FromVariable

    if typing.get_origin(annotation) is typing.Annotated:
        found = next((m for m in annotation.__metadata__ if isinstance(m, FromVariable)), None)
        if found is not None:
            return found
    return next((m for a in typing.get_args(annotation) if (m := _from_variable(a)) is not None), None)


def from_variables(spec: ToolSpec, args: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Any]:
    """``args`` with each ``-i NAME`` word that names a notebook variable replaced by its value."""
    out = dict(args)
    for name, info in spec.params.model_fields.items():
        words = out.get(name)
        if (_from_variable(info.annotation) is not None and isinstance(words, list) and len(words) == 1
                and isinstance(words[0], str) and words[0].isidentifier() and words[0] in namespace):
            out[name] = namespace[words[0]]
    return out


def tool_parser(spec: ToolSpec, prog: str) -> tuple[MagicParser, list[str]]:
    """Build the parser for ``spec``; also return the field names it fills."""
    first_line = spec.description.splitlines()[0]
    parser = MagicParser(prog=prog, description=first_line, add_help=True,
                         epilog=f"Tool: {spec.name}. Errors print one line; the cell still fails.")
    fields: list[str] = []
    positional_done = False
    props = spec.input_schema().get("properties", {})
    for name, info in spec.params.model_fields.items():
        kind, choices = _field_kind(info.annotation)
        prop = props.get(name, {})
        json_hint = f"a JSON {'list' if prop.get('type') == 'array' else 'object'}" if kind == "json" else ""
        help_text = "; ".join(t for t in ((info.description or "").rstrip("."), _schema_hint(prop), json_hint)
                              if t)
        if info.default not in (None, ...) and not info.is_required():
            help_text += f" (default: {info.default})"
        fields.append(name)
        conv: Any = _json_value if kind == "json" else None
        if kind == "number":
            conv = _number
        if info.is_required() and kind == "text" and not positional_done:
            parser.add_argument(name, nargs="?", metavar=name, help=help_text,
                                choices=choices or None)
            positional_done = True
            dest_opts = [f"--{name}"] + ([f"--{_kebab(name)}"] if _kebab(name) != name else [])
            parser.add_argument(*dest_opts, dest=f"opt_{name}", metavar="VALUE", help=argparse.SUPPRESS)
            continue
        opts = [f"--{name}"] + ([f"--{_kebab(name)}"] if _kebab(name) != name else [])
        marker = _from_variable(info.annotation)
        if marker is not None:
            opts.insert(0, marker.flag)
            help_text += "; or a notebook variable (a DataFrame)"
        if kind == "bool":
            parser.add_argument(*opts, dest=name, action=argparse.BooleanOptionalAction,
                                default=None, help=help_text)
        elif kind == "list":
            parser.add_argument(*opts, dest=name, nargs="+", metavar="VALUE", help=help_text)
        else:
            parser.add_argument(*opts, dest=name, type=conv, choices=choices or None,
                                metavar="JSON" if kind == "json" else "VALUE", help=help_text)
    parser.add_argument("-o", "--output", metavar="NAME",
                        help="store the result in this variable instead of returning it")
    return parser, fields


def split_line(prog: str, line: str) -> list[str]:
    """Split a magic's line like a shell does; an unbalanced quote is one ``UsageError`` line.

    A JSON object or array standing as a word of its own stays one word, quotes
    included: ``--tags {json.dumps(t)}`` reaches us after IPython's expansion as
    ``--tags {"team": "data"}``, which a shell split would turn into ``{team: data}``.
    """
    protected, saved = _protect_json(line)
    try:
        words = shlex.split(protected, posix=True)
    except ValueError as exc:
        raise UsageError(f"{prog}: cannot split the line ({exc}); check the quotes.") from None
    if not saved:
        return words
    return [_PLACEHOLDER.sub(lambda m: saved[int(m.group(1))], w) for w in words]


_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")
_DECODER = json.JSONDecoder()


def _protect_json(line: str) -> tuple[str, list[str]]:
    """``line`` with each unquoted JSON object/array word replaced by a placeholder, and the words."""
    if "\x00" in line or not ("{" in line or "[" in line):
        return line, []
    out: list[str] = []
    saved: list[str] = []
    quote: str | None = None
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == "\\" and quote != "'" and i + 1 < n:
            out.append(line[i:i + 2])
            i += 2
            continue
        if quote is not None:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "{[" and (i == 0 or line[i - 1].isspace()):
            try:
                _, end = _DECODER.raw_decode(line, i)
            except ValueError:
                end = -1
            if end > i and (end == n or line[end].isspace()):
                saved.append(line[i:end])
                out.append(f"\x00{len(saved) - 1}\x00")
                i = end
                continue
        out.append(c)
        i += 1
    return "".join(out), saved


def parse_line(parser: MagicParser, line: str) -> argparse.Namespace:
    """Split and parse a magic's line; errors are ``UsageError``, ``-h`` raises :class:`HelpShown`."""
    return parser.parse_args(split_line(parser.prog, line))


def output_name(prog: str, name: str | None) -> str | None:
    """Check a ``-o NAME`` target: it becomes a notebook variable, so it must be an identifier."""
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise UsageError(f"{prog}: -o {name!r} is not a valid variable name; use letters, digits and _, "
                         "not starting with a digit.")
    if name is not None and hasattr(builtins, name):
        raise UsageError(f"{prog}: -o {name!r} would hide Python's built-in {name}; choose another name "
                         f"(e.g. {name}_df).")
    return name


def parse_magic_line(spec: ToolSpec, prog: str, line: str) -> tuple[dict[str, Any], str | None]:
    """Parse a magic's line into (tool arguments, output variable name)."""
    parser, fields = tool_parser(spec, prog)
    ns = vars(parse_line(parser, line))
    args: dict[str, Any] = {}
    for name in fields:
        value = ns.get(name)
        if ns.get(f"opt_{name}") is not None:
            value = ns[f"opt_{name}"]
        if value is not None:
            args[name] = value
    return args, output_name(prog, ns.get("output"))
