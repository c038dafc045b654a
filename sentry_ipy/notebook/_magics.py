"""``SentryMagics``: the notebook face, thin over the tool registry.

Every magic parses its line, looks the tool up, calls ``run_tool`` and renders
the result: a DataFrame for lists, the ``ToolResult`` (markdown) otherwise.
Expected errors become one ``UsageError`` line; the cell still fails.
"""

from __future__ import annotations

import ast
import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import CodeType
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from traitlets import Bool, Unicode, observe

from ..config import OPTIONS
from ..errors import SentryIpyError, error_line
from ._argparse import HelpShown, MagicParser, from_variables, parse_line, parse_magic_line
from ._cells import is_crash
from ._line import expand_line
from ._progress import FetchProgress

__all__ = ["SentryMagics"]


@contextmanager
def _usage_errors() -> Iterator[None]:
    """Turn an expected error into the cell's one ``UsageError`` line (no traceback)."""
    try:
        yield
    except SentryIpyError as exc:
        raise UsageError(error_line(exc)) from None


@magics_class
class SentryMagics(Magics):
    """Sentry in the notebook: ``%sentry TOOL ...``, ``%sentry_issues``, ``%sentry_capture``, ``%%sentry_txn``."""

    # One %config trait per option in config.SETTINGS (org, project, url, dsn, release,
    # environment), generated so a new setting needs no change here. A class body's
    # namespace is a real dict, so this defines class attributes as if written out.
    locals().update({s.name: Unicode(None, allow_none=True, config=True, help=s.trait_help())
                     for s in OPTIONS})
    capture_cell_errors = Bool(True, config=True, help="Send exceptions raised by cells to Sentry.")
    trace_cells = Bool(False, config=True, help="Record each cell as a span (op notebook.cell) of a "
                       "transaction per run segment, so notebooks show up in Sentry's traces.")
    group_by_cell = Bool(True, config=True, help="For a notebook with a known path, group cell errors "
                         "by notebook + cell + exception type + top in-app frame (one issue per cell bug).")
    track_sessions = Bool(True, config=True, help="With a release configured, make each kernel run a "
                          "release-health session (crash-free rates per release).")

    # Class-level defaults: traitlets applies %config values (and fires the observers
    # below) inside Configurable.__init__, before our __init__ body runs.
    _ctx: Any = None
    cell_capture: Any = None
    cell_tracer: Any = None
    run_session: Any = None

    # ------------------------------------------------------------ context
    @observe(*(s.name for s in OPTIONS))
    def _settings_changed(self, change: Any) -> None:
        if change["name"] == "release" and change["new"] and self._switch_release(change["new"]):
            return
        self._end_sessions()
        self.reset_context()
        if self.run_session is not None and change["name"] == "release":
            self.run_session()  # the new release's session starts now, not at the next cell

    @observe("track_sessions")
    def _track_sessions_changed(self, change: Any) -> None:
        if self.run_session is not None and not change["new"]:
            self.run_session.end()  # turned off in the first cell: the session it opened ends now

    def _telemetry_in_use(self) -> Any:
        """The context's telemetry if it was created (never creates one)."""
        return self._ctx.telemetry_in_use if self._ctx is not None else None

    def _switch_release(self, release: str) -> bool:
        """Change the release in place: open sessions (the kernel's or the user's) restart under it.

        Returns False when there is no telemetry yet (or the release is refused):
        the caller then resets the context, which resolves the release afresh.
        """
        telemetry = self._telemetry_in_use()
        if telemetry is None:
            return False
        try:
            telemetry.change_release(release)
        except Exception:  # noqa: BLE001 - a bad release name is reported when the context is rebuilt
            return False
        self._ctx.settings = self._ctx.settings.replace(release=release)
        return True

    def _end_sessions(self) -> None:
        """Before settings change under it, end the open session as ``exited`` (it would be orphaned)."""
        if self.run_session is not None:
            self.run_session.end()
        telemetry = self._telemetry_in_use()
        if telemetry is not None and telemetry.sessions.current is not None:
            try:
                body = telemetry.end_session("exited")
                telemetry.flush(2.0)
                print(f"sentry-ipy: the settings changed, so session {body.get('sid')} was ended as exited; "
                      "start a new one with %sentry start_session.", file=sys.stderr)
            except Exception:  # noqa: BLE001, S110 - best effort, the settings change must go through
                pass

    @observe("trace_cells")
    def _trace_cells_changed(self, change: Any) -> None:
        if self.cell_tracer is not None:
            self.cell_tracer.enabled = bool(change["new"])
            if not change["new"]:
                self.cell_tracer.end_segment()

    @observe("capture_cell_errors", "group_by_cell")
    def _capture_changed(self, change: Any) -> None:
        if self.cell_capture is not None:
            setattr(self.cell_capture, "enabled" if change["name"] == "capture_cell_errors" else
                    "group_by_cell", bool(change["new"]))

    def reset_context(self) -> None:
        """Drop the tool context so the next call resolves settings again."""
        if self._ctx is not None:
            self._ctx.close()
        self._ctx = None

    @property
    def context(self) -> Any:
        """The kernel's tool context, built from traits, then env, then .sentryclirc."""
        if self._ctx is None:
            from ..config import Settings
            from ..tools import ToolContext

            with _usage_errors():
                settings = Settings.resolve(**self.setting_values())
            self._ctx = ToolContext(settings, progress=FetchProgress(self.shell))
        return self._ctx

    def setting_values(self) -> dict[str, Any]:
        """The ``%config`` value of every option trait (``None`` when not set)."""
        return {s.name: getattr(self, s.name) for s in OPTIONS}

    # ------------------------------------------------------------- running
    def run(self, tool_name: str, line: str, prog: str) -> Any:
        """Parse ``line`` for ``tool_name``, run it and return what the cell should show."""
        from ..tools import get_tool

        try:
            with _usage_errors():
                spec = get_tool(tool_name)
                args, output = parse_magic_line(spec, prog, line, defaulted=lambda name: (
                    name == "projectSlug" and self._default_project(spec) is not None))
                if self.shell is not None:
                    args = from_variables(spec, args, self.shell.user_ns)
        except HelpShown:
            return None
        return self.call(spec, args, output)

    def _default_project(self, spec: Any) -> str | None:
        """The configured project, which API tools use when the line names none."""
        if spec.family != "api" or "projectSlug" not in spec.params.model_fields:
            return None
        return self.context.effective_settings().project or None

    def call(self, spec: Any, args: dict[str, Any], output: str | None = None) -> Any:
        """Run ``spec`` with parsed ``args``; return what the cell should show (or store it in ``output``)."""
        from ..tools import run_tool

        with _usage_errors():
            if "projectSlug" not in args:
                default = self._default_project(spec)
                if default:
                    args = {**args, "projectSlug": default}
            result = None
            try:
                result = run_tool(spec, args, self.context)
            finally:
                progress = self.context.progress
                if isinstance(progress, FetchProgress):
                    progress.close(None if result is None or result.records is None
                                   else len(result.records))
        value: Any = result.to_frame() if result.records is not None else result
        note = result.truncation_note()
        if note:
            print(note)
        if output:
            assert self.shell is not None  # load_ipython_extension always gives the magics a shell
            self.shell.user_ns[output] = value
            print(result.summary)
            return None
        return value

    @line_magic
    @no_var_expand
    def sentry(self, line: str) -> Any:
        """Run any sentry-ipy tool: ``%sentry list_issues backend --query "is:unresolved"``.

        With no arguments, list the tools. ``%sentry TOOL -h`` shows a tool's options.
        """
        line = expand_line(self.shell, "%sentry", line)
        words = line.strip().split(None, 1)
        if not words or words[0] in ("-h", "--help", "help"):
            return _tool_table()
        return self.run(words[0], words[1] if len(words) > 1 else "", f"%sentry {words[0]}")

    @line_magic
    @no_var_expand
    def sentry_capture(self, line: str) -> Any:
        """Send a message, or the last exception: ``%sentry_capture [MESSAGE] [--level LEVEL]``.

        Without a message it sends the exception of the last failed cell (``sys.last_value``).
        """
        line = expand_line(self.shell, "%sentry_capture", line)
        parser = MagicParser(prog="%sentry_capture",
                             description=(type(self).sentry_capture.__doc__ or "").splitlines()[0])
        parser.add_argument("message", nargs="*", help="text of the message (omit to send the last exception)")
        parser.add_argument("-l", "--level", choices=("fatal", "error", "warning", "info", "debug"))
        try:
            ns = parse_line(parser, line)
        except HelpShown:
            return None
        if ns.message:
            args = {"message": " ".join(ns.message)} | ({"level": ns.level} if ns.level else {})
            with _usage_errors():
                from ..tools import get_tool

                spec = get_tool("sentry_capture_message")
            return self.call(spec, args)
        exc = getattr(sys, "last_value", None)
        if exc is None:
            raise UsageError("%sentry_capture: no cell has failed yet; give a message to send instead.")
        if not is_crash(exc):  # the same exceptions the cell hook leaves alone
            what = "an interrupt" if isinstance(exc, KeyboardInterrupt) else (
                "an exit" if isinstance(exc, SystemExit) else "a usage error")
            raise UsageError(f"%sentry_capture: the last error was {what}, nothing to send; give a "
                             "message to send instead.")
        name = type(exc).__name__
        hook = self.cell_capture
        if hook is not None and hook.last_error is exc and hook.last_event_id:
            print(f"{name} was already reported by the cell hook as event {hook.last_event_id}; "
                  "nothing new was sent.")
            return None
        with _usage_errors():
            event_id = self.context.telemetry().capture_exception(exc, level=ns.level)
        if event_id is None:
            print(f"sentry-sdk discarded {name} (already reported once, sampled out or dropped by a "
                  "before_send filter), so nothing was sent.")
        else:
            print(f"Sent {name} as event {event_id}.")
        return None

    @line_magic
    @no_var_expand
    def sentry_browse(self, line: str) -> Any:
        """Browse a project's issues in a widget: ``%sentry_browse [PROJECT] [--query Q] [--sort S]``.

        Opt-in: ``%sentry_issues`` returns the same list as a DataFrame. Select an
        issue for its stack trace and events; Resolve/Unresolve change its status.
        """
        line = expand_line(self.shell, "%sentry_browse", line)
        doc = (type(self).sentry_browse.__doc__ or "").splitlines()[0]
        parser = MagicParser(prog="%sentry_browse", description=doc)
        parser.add_argument("project", nargs="?", help="project slug (default: the configured project)")
        parser.add_argument("-q", "--query", default="is:unresolved",
                            help="Sentry search (default: is:unresolved; '' lists every issue)")
        parser.add_argument("-s", "--sort", default="date", choices=("date", "new", "freq", "user"),
                            help="order: date (last seen), new, freq or user (default: date)")
        parser.add_argument("-l", "--limit", type=int, default=100, help="most issues listed (default: 100)")
        try:
            ns = parse_line(parser, line)
        except HelpShown:
            return None
        try:
            from ._widgets import IssueBrowser
        except ImportError:
            raise UsageError("%sentry_browse needs ipywidgets: pip install ipywidgets") from None
        with _usage_errors():
            project = ns.project or self.context.effective_settings().project
            if not project:
                raise UsageError("%sentry_browse: name a project (or set SENTRY_PROJECT).")
            browser = IssueBrowser(self.context, project, ns.query, sort=ns.sort, limit=ns.limit, load=False)
            browser.refresh()
        return browser

    @line_cell_magic
    @no_var_expand
    def sentry_txn(self, line: str, cell: str | None = None) -> Any:
        """Run the cell as a performance transaction: ``%%sentry_txn NAME [--op OP]``.

        The cell runs like ``%%time`` runs it (its last expression is shown), and
        top-level ``await`` works where a plain cell's would outside a running
        event loop; an exception marks the transaction ``internal_error`` and is
        re-raised, an interrupt marks it ``cancelled``. The line form only shows
        this help (``%sentry_txn -h``).
        """
        from ..tools import run_tool

        prog = "%%sentry_txn"
        line = expand_line(self.shell, prog, line)
        parser = MagicParser(prog=prog, description=(type(self).sentry_txn.__doc__ or "").splitlines()[0])
        parser.add_argument("name", nargs="*", help="transaction name (default: cell N)")
        parser.add_argument("--op", default="notebook.cell", help="operation (default notebook.cell)")
        if cell is None:
            if not {"-h", "--help"} & set(line.split()):
                raise UsageError("%%sentry_txn is a cell magic: put it on the first line of a cell.")
            line = "-h"
        try:
            ns = parse_line(parser, line)
        except HelpShown:
            return None
        assert cell is not None, "the line form only shows help"
        assert self.shell is not None  # load_ipython_extension always gives the magics a shell
        codes = _compile_cell_body(self.shell, cell, prog)  # before the transaction: a typo sends nothing
        name = " ".join(ns.name) or f"cell {self.shell.execution_count}"
        with _usage_errors():
            run_tool("sentry_start_transaction", {"name": name, "op": ns.op}, self.context)
        status = "ok"
        try:
            value = _run_cell_body(self.shell, codes)
            return None if _ends_with_semicolon(cell) else value
        except KeyboardInterrupt:
            status = "cancelled"
            raise
        except BaseException:
            status = "internal_error"
            raise
        finally:
            try:
                done = run_tool("sentry_finish_transaction", {"status": status}, self.context)
                print(done.summary)
            except SentryIpyError as exc:
                print(f"sentry-ipy: {error_line(exc, named=False)}")


def _compile_cell_body(shell: Any, cell: str, prog: str) -> tuple[CodeType, CodeType | None]:
    """Compile a magic's cell as IPython compiles a plain cell: (statements, last expression or None).

    Top-level ``await`` compiles (``PyCF_ALLOW_TOP_LEVEL_AWAIT``) when the shell's
    ``autoawait`` is on. A syntax error in the cell, a ``return`` outside a
    function, or an ``await`` that cannot run here is one ``UsageError`` line.
    """
    source = shell.transform_cell(cell)
    flags = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0) if getattr(shell, "autoawait", False) else 0
    try:
        tree = shell.transform_ast(shell.compile.ast_parse(source))
        last = ast.Expression(tree.body.pop().value) if tree.body and isinstance(tree.body[-1], ast.Expr) \
            else None
        filename = shell.compile.cache(source, shell.execution_count, raw_code=cell)
        with shell.compile.extra_flags(flags):
            body = shell.compile(tree, filename, "exec")
            value = shell.compile(last, filename, "eval") if last is not None else None
    except SyntaxError as exc:
        where = f" (line {exc.lineno} of the cell)" if exc.lineno else ""
        raise UsageError(f"{prog}: {exc.msg}{where}; fix the cell and run it again.") from None
    if any(c is not None and _is_async(c) for c in (body, value)) and _loop_running():
        raise UsageError(f"{prog} cannot run top-level await while this kernel's event loop runs the cell; "
                         "use %sentry_start_transaction NAME, await in plain cells, then "
                         "%sentry_finish_transaction.")
    return body, value


def _run_cell_body(shell: Any, codes: tuple[CodeType, CodeType | None]) -> Any:
    """Run compiled cell code in the user namespace; return the last expression's value.

    A body that awaits compiles to a coroutine, run to completion with the
    shell's ``loop_runner`` as IPython runs an awaiting cell.
    """
    value = None
    for code in codes:
        if code is not None:
            value = eval(code, shell.user_global_ns, shell.user_ns)  # noqa: S307 - running the user's cell
            if _is_async(code):
                value = shell.loop_runner(value)
    return value if codes[1] is not None else None


def _ends_with_semicolon(cell: str) -> bool:
    """A trailing ``;`` hides the value, as in a plain cell (IPython only sees the magic call)."""
    from IPython.core.displayhook import DisplayHook

    try:
        return bool(DisplayHook.semicolon_at_end_of_expression(cell))  # type: ignore[no-untyped-call]
    except Exception:  # noqa: BLE001 - tokenize errors: show the value
        return False


def _is_async(code: CodeType) -> bool:
    return bool(code.co_flags & inspect.CO_COROUTINE)


def _loop_running() -> bool:
    """True inside a Jupyter kernel, whose asyncio loop is busy running the current cell."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _tool_table() -> Any:
    from ..tools import ToolResult, registry
    rows = [{"tool": s.name.removeprefix("sentry_"), "magic": f"%sentry_{s.alias}" if s.alias else "",
             "family": s.family, "writes": s.writes, "what": s.description.splitlines()[0]}
            for s in registry().values()]
    return ToolResult(summary=f"{len(rows)} tools; `%sentry TOOL -h` shows a tool's options.", records=rows,
                      columns=("tool", "magic", "family", "what"))
