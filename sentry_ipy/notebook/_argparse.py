"""Command-line parsers for magics, generated from a tool's parameter model.

Every field is an option in its seed spelling and in kebab case
(``--projectSlug`` / ``--project-slug``); objects and arrays take JSON. Every
required field that takes one value may also be given in its place, in schema
order (``%sentry get_event backend 9fac2c...``), in any mix with options: the
values fill, in order, the required fields no option named. This is done here
once, for every tool the registry holds, so a new tool's magic gets it too.
"""

from __future__ import annotations

import argparse
import builtins
import enum
import json
import keyword
import re
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ._line import split_line

if TYPE_CHECKING:  # pragma: no cover
    from ..tools import ToolSpec

__all__ = ["HelpShown", "MagicParser", "output_name", "parse_line", "parse_magic_line", "tool_parser"]


class HelpShown(Exception):
    """Raised instead of exiting after ``-h`` printed the help."""


class MagicParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that reports errors as ``UsageError`` and never exits the kernel.

    ``slots`` are the fields a tool's parser lets the user give in their place,
    in order, each with its value converter (or None) and choices.
    """

    slots: dict[str, tuple[Any, tuple[str, ...]]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = {}

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


#: Prefix of the argparse ``dest`` of a value given in a field's place.
_SLOT = "slot_"


def tool_parser(spec: ToolSpec, prog: str) -> tuple[MagicParser, list[str]]:
    """Build the parser for ``spec``; also return the field names it fills."""
    first_line = spec.description.splitlines()[0]
    parser = MagicParser(prog=prog, description=first_line, add_help=True)
    fields: list[str] = []
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
        if info.is_required() and kind not in ("bool", "list"):
            # Converted once it is known which field a value fills (parse_magic_line).
            parser.add_argument(f"{_SLOT}{name}", nargs="?", metavar=name, help=help_text)
            parser.slots[name] = (conv, choices)
            help_text = f"{name} as an option"
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
    slots = " ".join(parser.slots)
    if slots:
        parser.usage = f"%(prog)s {slots} [options]"
    parser.epilog = (f"{slots} may be given in this order or as options, in any mix. " if slots else "") + \
        f"Tool: {spec.name}. Errors print one line; the cell still fails."
    return parser, fields


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


def parse_magic_line(spec: ToolSpec, prog: str, line: str, *,
                     defaulted: Callable[[str], bool] | None = None) -> tuple[dict[str, Any], str | None]:
    """Parse a magic's line into (tool arguments, output variable name).

    The values given in place of fields fill, in schema order, the required
    fields that no option named: ``get_event backend X`` and ``get_event
    --eventId X backend`` mean the same. ``defaulted(name)`` says whether the
    caller fills a field the line leaves out (the configured project): with one
    value fewer per such field, the values skip it (``%sentry_event X``).
    A wrong count is one sentence naming the fields expected.
    """
    parser, fields = tool_parser(spec, prog)
    ns, extra = parser.parse_known_intermixed_args(split_line(prog, line))
    if any(word.startswith("-") for word in extra):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    values = vars(ns)
    args = {name: values[name] for name in fields if values.get(name) is not None}
    given = [values[f"{_SLOT}{name}"] for name in parser.slots if values.get(f"{_SLOT}{name}") is not None]
    given += extra
    free = [name for name in parser.slots if name not in args]
    left_out = [name for name in free if defaulted is not None and defaulted(name)] \
        if len(given) < len(free) else []
    if left_out and len(given) == len(free) - len(left_out):
        free = [name for name in free if name not in left_out]
    if len(given) != len(free):
        raise _count_error(prog, free, given, left_out)
    for name, text in zip(free, given, strict=True):
        args[name] = _slot_value(parser, name, text)
    return args, output_name(prog, values.get("output"))


def _count_error(prog: str, expected: list[str], given: list[str], left_out: list[str]) -> UsageError:
    """The sentence for too many or too few values given in place of fields."""
    want = (f"takes {len(expected)} value{'s' if len(expected) != 1 else ''} in this order: "
            f"{' '.join(expected)}") if expected else "takes no more values (its options named every field)"
    shown = " ".join(v if len(v) <= 40 else v[:37] + "..." for v in given)
    got = f"got {len(given)}" + (f" ({shown})" if given else "")
    optional = f"; {' and '.join(left_out)} may be left out (configured)" if left_out else ""
    return UsageError(f"{prog} {want}, {got}{optional}; or name them as options (see {prog} -h).")


def _slot_value(parser: MagicParser, name: str, text: str) -> Any:
    """Convert a value given in ``name``'s place as its option would have."""
    conv, choices = parser.slots[name]
    if choices and text not in choices:
        parser.error(f"argument {name}: invalid choice: {text!r} (choose from {', '.join(choices)})")
    if conv is None:
        return text
    try:
        return conv(text)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"argument {name}: {exc}")
