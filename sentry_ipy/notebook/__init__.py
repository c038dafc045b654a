"""The notebook face: magics and cell-error capture for IPython and Jupyter."""

from __future__ import annotations

from typing import Any

from ._headless import RUN_ENV

__all__ = ["RUN_ENV", "finish_run", "load", "unload"]

_STATE_KEY = "_sentry_ipy_state"


def load(shell: Any) -> None:
    """Register the magics and the cell-error hook; loading twice changes nothing."""
    if getattr(shell, _STATE_KEY, None) is not None:
        return
    from ._cell_spans import CellTracer
    from ._cells import CellCapture, notebook_path
    from ._headless import apply_run_context, read_run_context
    from ._magics import SentryMagics
    from ._sessions import RunSession
    from ..tools import declared_aliases
    from ._startup import SdkStart

    magics = SentryMagics(shell=shell)
    shell.register_magics(magics)
    for alias, tool_name in declared_aliases().items():
        if f"sentry_{alias}" in ("sentry_capture", "sentry_txn"):
            continue  # magics of their own (a message or the last exception; a cell)
        shell.register_magic_function(_alias_magic(magics, tool_name, f"%sentry_{alias}"),
                                      magic_kind="line", magic_name=f"sentry_{alias}")
    if magics not in shell.configurables:
        shell.configurables.append(magics)
    capture = CellCapture(shell, lambda: magics.context.telemetry())
    capture.enabled = magics.capture_cell_errors
    capture.group_by_cell = magics.group_by_cell
    magics.cell_capture = capture
    shell.events.register("post_run_cell", capture)
    start = SdkStart(magics)
    shell.events.register("pre_run_cell", start)  # before the session hook, which may need it
    session = RunSession(magics)
    magics.run_session = session
    shell.events.register("pre_run_cell", session)
    tracer = CellTracer(lambda: magics.context.telemetry(), lambda: notebook_path(shell.user_ns))
    tracer.enabled = magics.trace_cells
    magics.cell_tracer = tracer
    shell.events.register("pre_run_cell", tracer.before)
    shell.events.register("post_run_cell", tracer.after)  # after the capture: its event joins the span
    setattr(shell, _STATE_KEY, (magics, capture, session, start, tracer))
    run = read_run_context()
    if run is not None:
        apply_run_context(magics, capture, tracer, run)


def finish_run(shell: Any, outcome: str, failing_cell: str | None = None) -> str:
    """End a headless run in this kernel (``sentry-ipy run`` calls it); see :mod:`._headless`."""
    from ._headless import finish_run as finish

    return finish(shell, outcome, failing_cell)


def unload(shell: Any) -> None:
    """Undo :func:`load`: unregister the hook and the magics, close the context."""
    state = getattr(shell, _STATE_KEY, None)
    if state is None:
        return
    magics, capture, session, start, tracer = state
    for event, callback in (("post_run_cell", capture), ("pre_run_cell", session), ("pre_run_cell", start),
                            ("pre_run_cell", tracer.before), ("post_run_cell", tracer.after)):
        try:
            shell.events.unregister(event, callback)
        except ValueError:
            pass
    tracer.end_segment()
    session.end()
    magics.run_session = None
    if magics in shell.configurables:
        shell.configurables.remove(magics)
    line = shell.magics_manager.magics.get("line", {})
    cell = shell.magics_manager.magics.get("cell", {})
    for table in (line, cell):
        for name in [n for n in table if n == "sentry" or n.startswith("sentry_")]:
            del table[name]
    magics.reset_context()
    setattr(shell, _STATE_KEY, None)


def _alias_magic(magics: Any, tool_name: str, prog: str) -> Any:
    from IPython.core.magic import no_var_expand

    from ._line import expand_line

    @no_var_expand  # IPython's expansion is quadratic in the line; expand_line is not
    def magic(line: str) -> Any:
        return magics.run(tool_name, expand_line(magics.shell, prog, line), prog)

    magic.__name__ = prog.lstrip("%")
    magic.__doc__ = f"Run {tool_name}: `{prog} -h` lists its options."
    return magic
