"""Execute a notebook headless with nbclient, monitored like any other job.

One run is:

* a **release-health session** (``sid`` = the run ID), ended ``exited`` when
  every cell ran, ``errored`` when cells tagged ``raises-exception`` raised
  but the run went on, ``crashed`` when a cell failed (or the kernel died)
  and ``abnormal`` when a cell ran past the timeout; it needs a release
  (``SENTRY_RELEASE`` or ``--release``), as every session does;
* **one transaction** (op ``notebook.run``) with a span per cell, sent by the
  kernel, which runs with the extension loaded and the run described in
  :data:`~sentry_ipy.notebook.RUN_ENV`;
* the failing cell's **error, captured once** by the kernel's cell hook, with
  the run's ID, notebook and parameters; if the kernel could not report it
  (the extension missing from the kernel's environment, the kernel dead) the
  runner sends it from the cell's error output instead;
* the **executed notebook**, written to ``output`` (always, when given) or,
  on failure, next to the input as ``NAME.failed.ipynb``.

The runner speaks to the kernel like Jupyter does: each cell's nbformat id
goes with its execute request as ``cellId``, so the kernel groups errors by
cell id, and after the last cell one silent request ends the run there.
"""

from __future__ import annotations

import ast
import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigurationError, ToolInputError

__all__ = ["Outcome", "RunResult", "run_notebook"]

Outcome = Literal["exited", "errored", "crashed", "abnormal"]
_INSTALL = "pip install 'sentry-ipy[run]'"


@dataclass
class RunResult:
    """What one monitored run did.

    Attributes:
        run_id: the run's ID (the session's ``sid``, the ``notebook.run_id`` tag).
        notebook: the notebook's path.
        outcome: the session status the run ended with.
        duration: seconds from kernel start to the end of the last cell.
        failing_cell: index of the cell that failed, if one did.
        failing_cell_id: its nbformat id (or ``position:N``).
        error: the failure as one line (``ZeroDivisionError: division by zero``).
        event_id: the event the failure was reported as.
        output: where the executed notebook was written, if it was.
        session: True when a release-health session was recorded.
        notes: sentences worth printing (no release, delivery not confirmed...).
    """

    run_id: str
    notebook: str
    outcome: Outcome = "exited"
    duration: float = 0.0
    failing_cell: int | None = None
    failing_cell_id: str | None = None
    error: str | None = None
    event_id: str | None = None
    output: str | None = None
    session: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every cell ran (``exited``, ``errored``), else 1."""
        return 0 if self.outcome in ("exited", "errored") else 1

    def summary(self) -> str:
        """One line for the terminal."""
        took = f"{self.duration:.1f} s"
        if self.outcome == "exited":
            text = f"Run {self.run_id} of {self.notebook} finished in {took}."
        elif self.outcome == "errored":
            text = f"Run {self.run_id} of {self.notebook} finished in {took}, with errors in cells allowed to raise."
        else:
            where = f"the cell at index {self.failing_cell}" + (
                f" ({self.failing_cell_id})" if self.failing_cell_id else "")
            what = "timed out" if self.outcome == "abnormal" else "failed"
            text = f"Run {self.run_id} of {self.notebook} {what} at {where}: {self.error}"
            if self.event_id:
                text += f" (event {self.event_id})"
            text += "."
        return text


def _imports() -> tuple[Any, Any, Any]:
    try:
        import nbclient
        import nbclient.exceptions as exceptions
        import nbformat
    except ImportError:
        raise ConfigurationError(f"sentry-ipy run needs nbclient, nbformat and ipykernel: {_INSTALL}") from None
    return nbclient, exceptions, nbformat


class _CellFeed:
    """Tracks the cell nbclient is executing and sends its id as ``cellId``, as JupyterLab does.

    nbclient sends execute requests without the id; ipykernel passes
    ``cellId`` metadata to the shell as ``cell_id``, which the cell hook
    groups errors by. The cell last started is the one that failed when a
    run stops.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.index: int | None = None
        self.cell_id: str | None = None
        client.on_cell_execute = self.on_cell_execute
        client.on_notebook_start = self.on_notebook_start

    def on_cell_execute(self, cell: Any, cell_index: int) -> None:
        self.index, self.cell_id = cell_index, cell.get("id")

    def on_notebook_start(self, notebook: Any) -> None:
        kc = self.client.kc

        def execute(code: str, silent: bool = False, store_history: bool = True,
                    user_expressions: dict[str, Any] | None = None, allow_stdin: bool | None = None,
                    stop_on_error: bool = True) -> str:
            content = {"code": code, "silent": silent, "store_history": store_history,
                       "user_expressions": user_expressions or {},
                       "allow_stdin": kc.allow_stdin if allow_stdin is None else allow_stdin,
                       "stop_on_error": stop_on_error}
            metadata = {"cellId": self.cell_id} if self.cell_id and not silent else {}
            msg = kc.session.msg("execute_request", content, metadata=metadata)
            kc.shell_channel.send(msg)
            return str(msg["header"]["msg_id"])

        kc.execute = execute


def _finish_in_kernel(client: Any, outcome: str, failing_cell: str | None) -> dict[str, Any]:
    """Run :func:`sentry_ipy.notebook.finish_run` in the kernel; its JSON report, or {} if it did not answer."""
    expr = (f"__import__('sentry_ipy.notebook', fromlist=['finish_run'])"
            f".finish_run(get_ipython(), {outcome!r}, {failing_cell!r})")
    try:
        msg_id = client.kc.execute("", silent=True, store_history=False, user_expressions={"report": expr})
        reply = client.wait_for_reply(msg_id)
        value = (reply or {}).get("content", {}).get("user_expressions", {}).get("report", {})
        if value.get("status") != "ok":
            return {}
        report = json.loads(ast.literal_eval(value["data"]["text/plain"]))
        return report if isinstance(report, dict) else {}
    except Exception:  # noqa: BLE001 - a dead or foreign kernel: the runner reports on its own
        return {}


def _error_line(exc: Any) -> str:
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = str(getattr(exc, "evalue", "") or "").strip().splitlines()
    return f"{ename}: {evalue[0]}" if evalue else str(ename)


def _allowed_errors(nb: Any) -> int:
    return sum(1 for c in nb.cells if c.get("cell_type") == "code"
               for o in c.get("outputs", []) if o.get("output_type") == "error")


def _kernel_env(settings: Any, run: dict[str, Any], notebook: Path) -> dict[str, str]:
    """The kernel's environment: where to send, the run, and the notebook's path (as Jupyter names it)."""
    from ..notebook import RUN_ENV

    env = dict(os.environ)
    for key, value in (("SENTRY_DSN", settings.dsn), ("SENTRY_RELEASE", settings.release),
                       ("SENTRY_ENVIRONMENT", settings.environment), ("SENTRY_URL", settings.url),
                       ("SENTRY_AUTH_TOKEN", settings.auth_token), ("SENTRY_ORG", settings.org),
                       ("SENTRY_PROJECT", settings.project)):
        if value:
            env[key] = str(value)
    env[RUN_ENV] = json.dumps(run)
    env["JPY_SESSION_NAME"] = str(notebook)
    return env


def run_notebook(path: str | Path, parameters: Iterable[tuple[str, Any]] = (), *,
                 output: str | Path | None = None, ctx: Any = None, timeout: float | None = 600,
                 kernel_name: str | None = None, cwd: str | Path | None = None) -> RunResult:
    """Execute the notebook at ``path`` with ``parameters``, monitored (see the module docstring).

    Args:
        path: the ``.ipynb`` file.
        parameters: ``(name, value)`` pairs for the injected-parameters cell.
        output: where to write the executed notebook (default: only on failure,
            as ``NAME.failed.ipynb`` beside the input).
        ctx: the :class:`~sentry_ipy.tools.ToolContext` to send through (default: settings resolved
            from the environment, the local backend when nothing is configured).
        timeout: seconds one cell may run (None: no limit).
        kernel_name: the Jupyter kernel (default: the notebook's own, else ``python3``).
        cwd: the kernel's working directory (default: the notebook's folder).

    Raises:
        ToolInputError: the notebook cannot be read, or a parameter name is invalid.
        ConfigurationError: nbclient is missing, or there is nowhere to send.
    """
    from ..config import Settings
    from ..tools import ToolContext
    from ._parameters import inject_parameters

    nbclient, exceptions, nbformat = _imports()
    notebook = Path(path).resolve()
    try:
        nb = nbformat.read(notebook, as_version=4)
    except FileNotFoundError:
        raise ToolInputError(f"There is no notebook at {path}; give the path of an .ipynb file.") from None
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for a broken file
        raise ToolInputError(f"{path} is not a readable notebook ({type(exc).__name__}); "
                             "check that it is an .ipynb file.") from None
    pairs = list(parameters)
    inject_parameters(nb, pairs)
    ctx = ctx or ToolContext(Settings.resolve())
    settings = ctx.effective_settings()
    if not settings.dsn:
        raise ConfigurationError("sentry-ipy run needs a DSN to send to; set SENTRY_DSN (or leave SENTRY_URL "
                                 "and SENTRY_AUTH_TOKEN unset to use the embedded local backend).")
    run_id = uuid.uuid4().hex
    result = RunResult(run_id=run_id, notebook=str(path))
    telemetry = ctx.telemetry()
    if settings.release:
        telemetry.start_session(session_id=run_id)
        result.session = True
    else:
        result.notes.append("No release is configured (SENTRY_RELEASE or --release), so this run is not "
                            "counted in release health.")
    run = {"id": run_id, "notebook": str(notebook), "parameters": {k: repr(v) for k, v in pairs}}
    kernel = kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
    client = nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name=kernel, extra_arguments=["--ext=sentry_ipy"],
        resources={"metadata": {"path": str(cwd or notebook.parent)}})
    started = time.monotonic()
    report: dict[str, Any] = {}
    feed = _CellFeed(client)
    positions = {id(c): n for n, c in enumerate((c for c in nb.cells if c.cell_type == "code"), 1)}
    try:
        with client.setup_kernel(env=_kernel_env(settings, run, notebook)):
            try:
                client.execute(cleanup_kc=False)
                result.outcome = "errored" if _allowed_errors(nb) else "exited"
            except exceptions.CellTimeoutError as exc:
                result.outcome, result.error = "abnormal", _error_line(exc)
            except exceptions.DeadKernelError as exc:
                result.outcome, result.error = "crashed", f"the kernel died ({exc})"
            except exceptions.CellExecutionError as exc:
                result.outcome, result.error = "crashed", _error_line(exc)
            if result.outcome in ("crashed", "abnormal") and feed.index is not None:
                cell = nb.cells[feed.index]
                result.failing_cell = feed.index
                result.failing_cell_id = f"id:{cell['id']}" if cell.get("id") else \
                    f"position:{positions.get(id(cell))}"
            result.duration = time.monotonic() - started
            if "kernel died" not in (result.error or ""):
                report = _finish_in_kernel(client, result.outcome, result.failing_cell_id)
    finally:
        result.duration = result.duration or time.monotonic() - started
        if result.outcome in ("crashed", "abnormal") and not report.get("event_id"):
            result.event_id = _report_from_runner(telemetry, result, run)
        else:
            result.event_id = report.get("event_id")
        if result.session:
            _count_errors(telemetry, _allowed_errors(nb) + (result.outcome == "crashed"))
            telemetry.end_session(result.outcome)
        if not telemetry.flush(10.0):
            result.notes.append("Delivery of the run's session and events was not confirmed.")
        if output is not None or result.exit_code:
            target = Path(output) if output is not None else notebook.with_suffix(".failed.ipynb")
            nbformat.write(nb, target)
            result.output = str(target)
    return result


def _count_errors(telemetry: Any, errors: int) -> None:
    """Give the run's session the kernel's error count (its events were counted in another process)."""
    session = telemetry.sessions.current
    if session is not None:
        session.errors = max(int(session.errors or 0), errors)


def _report_from_runner(telemetry: Any, result: RunResult, run: dict[str, Any]) -> str | None:
    """Send the failure from the runner when the kernel did not (no extension there, a dead kernel)."""
    event_id, _, _ = telemetry.capture_error_text(
        result.error or "Error: the notebook run failed",
        tags={"notebook.run_id": result.run_id, "mechanism": "notebook_run"},
        contexts={"run": run, "cell": {"index": result.failing_cell, "cell_id": result.failing_cell_id}})
    sent: str | None = event_id
    return sent
