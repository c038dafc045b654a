"""Run Bugsink, a real independent Sentry-compatible ingest server, for tests.

Bugsink lives in its own venv (``tests/setup_bugsink.sh`` makes ``.venv-bugsink``):
it ships top-level packages (``api``, ``events``, ``issues``, ``sentry`` ...) and
Django, which must never be imported into the test process. This module only
drives that venv through subprocesses and talks to the server over HTTP (httpx).

Usage::

    with BugsinkServer(venv, workdir).start() as server:
        project_id, dsn = server.create_project("demo")
        ...  # send events to ``dsn`` with sentry-sdk, flush
        issues = server.issues(project_id)
        events = server.events(issues[0]["id"])
        payload = server.event(events[0]["id"])["data"]

Facts about Bugsink 2.6.2's own API (``/api/canonical/0/``, Bearer token),
verified against a running server:

* ``POST teams/ {name}`` -> ``{"id": "<uuid str>", ...}``;
  ``POST projects/ {name, team}`` -> ``{"id": "1", ...}`` (id is a *string* here,
  an int everywhere else); a duplicate name in a team is a 400.
  ``GET projects/ID/`` has ``dsn`` (``http://KEY@127.0.0.1:PORT/ID``).
* lists are cursor-paginated ``{"next": url|None, "previous": url|None,
  "results": [...]}``, 250 a page; ``next`` is an absolute URL.
* ``GET issues/?project=ID`` (ascending ``digest_order`` for one project):
  ``id`` (uuid str), ``friendly_id``, ``project`` (int), ``calculated_type``
  (exception type, or ``"Log Message"``), ``calculated_value`` (message or
  exception value), ``digested_event_count``, ``stored_event_count``,
  ``first_seen``, ``last_seen``, ``events_at`` (releases), ``is_resolved``,
  ``is_muted`` ...
* ``GET events/?issue=UUID`` (``issue`` is required; default order desc) lists
  ``id`` (uuid pk), ``event_id`` (the SDK's id, *dashed* uuid), ``issue``,
  ``project``, ``timestamp``, ``ingested_at``, ``digested_at``,
  ``digest_order``, ``grouping`` -- but NOT ``data``.
* ``GET events/PK/`` takes only the pk ``id`` (an SDK ``event_id`` is a 404);
  it adds ``data`` (the stored event payload: ``message`` or ``logentry``,
  ``exception``, ``tags``, ``user``, ``breadcrumbs``, ``contexts``, ``extra``,
  ``release``, ``environment``, ``sdk`` ...) and ``stacktrace_md``.
* ``GET events/lookup/?project=ID&event_id=X`` accepts the event id as hex
  (what sentry-sdk returns) or dashed; same body as ``events/PK/``; 404 if absent.
* In the eager task mode configured here an event is visible through the API as
  soon as ``sentry_sdk.flush()`` returns.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

API_PREFIX = "/api/canonical/0/"
SUPERUSER = "admin@example.com"  # Django rejects e.g. "a@b.c" (one-letter TLD)
_HIGH_LIMIT = 1_000_000_000
_DB_FILES = ("db.sqlite3", "snappea.sqlite3")
# Variables that would change what Bugsink's settings or Python itself load.
_SCRUBBED_ENV = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    "DJANGO_SETTINGS_MODULE",
    "SENTRY_DSN",
    "PORT",
    "DATABASE_PATH",
    "TEST_DATABASE_PATH",
    "SNAPPEA_DATABASE_PATH",
    "GUNICORN_CMD_ARGS",
)


class BugsinkError(RuntimeError):
    """Bugsink could not be set up, started, or answered an API call with an error."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def bugsink_version(venv: Path) -> str | None:
    """The bugsink version installed in ``venv`` (from its dist-info), or None."""
    for dist in sorted(Path(venv).glob("lib/python3*/site-packages/bugsink-*.dist-info")):
        return dist.name[len("bugsink-") : -len(".dist-info")]
    return None


def venv_ready(venv: Path) -> bool:
    """Whether ``venv`` looks like one made by ``tests/setup_bugsink.sh``."""
    venv = Path(venv)
    return all(
        (venv / "bin" / name).exists()
        for name in ("python", "gunicorn", "bugsink-manage", "bugsink-create-conf")
    ) and bugsink_version(venv) is not None


class BugsinkServer:
    """One Bugsink instance: its own config, SQLite DBs and gunicorn on a free loopback port.

    ``template_dir``: optional cache of freshly migrated databases (with the
    superuser), keyed by the caller (use one folder per bugsink version). When it
    holds them, ``start`` copies them instead of migrating (~6 s -> ~0 s); when it
    doesn't, ``start`` migrates and fills it.
    """

    def __init__(
        self,
        venv: Path,
        workdir: Path,
        *,
        template_dir: Path | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        self.venv = Path(venv).resolve()
        self.workdir = Path(workdir).resolve()
        self.template_dir = Path(template_dir) if template_dir is not None else None
        self.ready_timeout = ready_timeout
        self.port: int = 0
        self.base_url: str = ""
        self.token: str = ""
        self.timings: dict[str, float] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._http: httpx.Client | None = None
        self._team_id: str | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> BugsinkServer:
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def log_path(self) -> Path:
        return self.workdir / "gunicorn.log"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env["DJANGO_SETTINGS_MODULE"] = "bugsink_conf"
        env["PYTHONPATH"] = str(self.workdir)
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def _run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
        cmd = [str(self.venv / "bin" / args[0]), *args[1:]]
        try:
            proc = subprocess.run(
                cmd,
                cwd=self.workdir,
                env=env or self._env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BugsinkError(f"{' '.join(args)} failed: {exc}") from exc
        if proc.returncode != 0:
            raise BugsinkError(
                f"{' '.join(args)} exited {proc.returncode}:\n"
                f"{_tail(proc.stdout, 20)}\n{_tail(proc.stderr)}"
            )
        return proc.stdout

    def _write_conf(self, port: int) -> None:
        conf = self.workdir / "bugsink_conf.py"
        conf.unlink(missing_ok=True)
        self._run(
            "bugsink-create-conf",
            "--template=local",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--output-file={conf}",
        )
        ingest = self.workdir / "ingestion"
        wakeup = self.workdir / "snappea.wakeup"
        limits = "\n".join(
            f'BUGSINK["{key}"] = {_HIGH_LIMIT}'
            for key in (
                "MAX_EVENTS_PER_PROJECT_PER_5_MINUTES",
                "MAX_EVENTS_PER_5_MINUTES",
                "MAX_EVENTS_PER_PROJECT_PER_HOUR",
                "MAX_EVENTS_PER_HOUR",
                "MAX_EVENTS_PER_PROJECT_PER_MONTH",
                "MAX_EVENTS_PER_MONTH",
            )
        )
        with conf.open("a", encoding="utf-8") as fh:
            fh.write(
                "\n\n# --- appended by sentry-ipy tests/bugsink.py: one isolated instance ---\n"
                f'DATABASES["default"]["NAME"] = {str(self.workdir / _DB_FILES[0])!r}\n'
                f'DATABASES["default"]["TEST"]["NAME"] = {str(self.workdir / "test.sqlite3")!r}\n'
                f'DATABASES["snappea"]["NAME"] = {str(self.workdir / _DB_FILES[1])!r}\n'
                f'BUGSINK["INGEST_STORE_BASE_DIR"] = {str(ingest)!r}\n'
                'BUGSINK["PHONEHOME"] = False\n'
                f'SNAPPEA["WAKEUP_CALLS_DIR"] = {str(wakeup)!r}\n'
                f"{limits}\n"
            )

    def _prepare_databases(self) -> None:
        tpl = self.template_dir
        if tpl is not None and all((tpl / name).is_file() for name in _DB_FILES):
            t0 = time.monotonic()
            for name in _DB_FILES:
                shutil.copyfile(tpl / name, self.workdir / name)
            self.timings["migrate"] = time.monotonic() - t0
            self.timings["superuser"] = 0.0
            return

        t0 = time.monotonic()
        self._run("bugsink-manage", "migrate", "--noinput")
        self._run("bugsink-manage", "migrate", "snappea", "--database=snappea", "--noinput")
        self.timings["migrate"] = time.monotonic() - t0

        t0 = time.monotonic()
        env = self._env()
        env["DJANGO_SUPERUSER_PASSWORD"] = uuid.uuid4().hex
        self._run(
            "bugsink-manage",
            "createsuperuser",
            "--noinput",
            f"--username={SUPERUSER}",
            f"--email={SUPERUSER}",
            env=env,
        )
        self.timings["superuser"] = time.monotonic() - t0

        if tpl is not None and not any(
            (self.workdir / f"{name}-wal").exists() for name in _DB_FILES
        ):
            # Publish atomically: a half-copied template must never be used.
            tpl.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{tpl.name}-", dir=tpl.parent))
            for name in _DB_FILES:
                shutil.copyfile(self.workdir / name, staging / name)
            try:
                staging.rename(tpl)
            except OSError:  # another run published it first
                shutil.rmtree(staging, ignore_errors=True)

    def start(self) -> BugsinkServer:
        """Configure, migrate and serve; returns self once ``/health/ready`` answers 200."""
        if self._proc is not None:
            return self
        if not (self.venv / "bin" / "gunicorn").exists():
            raise BugsinkError(
                f"no Bugsink venv at {self.venv}: run tests/setup_bugsink.sh"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        t_start = time.monotonic()

        t0 = time.monotonic()
        self.port = _free_port()
        self._write_conf(self.port)
        self.timings["conf"] = time.monotonic() - t0

        self._prepare_databases()

        t0 = time.monotonic()
        out = self._run("bugsink-manage", "create_auth_token")
        tokens = re.findall(r"\b[0-9a-f]{40}\b", out)
        if not tokens:
            raise BugsinkError(f"create_auth_token printed no token:\n{_tail(out)}")
        self.token = tokens[-1]
        self.timings["token"] = time.monotonic() - t0

        t0 = time.monotonic()
        for attempt in range(3):
            try:
                self._serve()
                break
            except _PortTaken:
                # Someone took the port between _free_port() and gunicorn's bind.
                if attempt == 2:
                    raise BugsinkError(
                        f"gunicorn could not bind a free port:\n{self.log_tail()}"
                    ) from None
                self.port = _free_port()
                self._write_conf(self.port)
        self.timings["serve"] = time.monotonic() - t0
        self.timings["total"] = time.monotonic() - t_start
        return self

    def _serve(self) -> None:
        self.base_url = f"http://127.0.0.1:{self.port}"
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    str(self.venv / "bin" / "gunicorn"),
                    f"--bind=127.0.0.1:{self.port}",
                    "--workers=1",
                    "--no-control-socket",
                    "--timeout=120",
                    "bugsink.wsgi",
                ],
                cwd=self.workdir,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.ready_timeout
        last_error = "no answer yet"
        with httpx.Client(timeout=5.0) as probe:
            while True:
                code = self._proc.poll()
                if code is not None:
                    self._proc = None
                    if "Address already in use" in self.log_tail():
                        raise _PortTaken
                    raise BugsinkError(
                        f"gunicorn exited with code {code} before Bugsink was ready; "
                        f"log {self.log_path}:\n{self.log_tail()}"
                    )
                try:
                    resp = probe.get(f"{self.base_url}/health/ready")
                    if resp.status_code == 200:
                        break
                    last_error = f"HTTP {resp.status_code}"
                except httpx.HTTPError as exc:
                    last_error = repr(exc)
                if time.monotonic() > deadline:
                    self.stop()
                    raise BugsinkError(
                        f"Bugsink at {self.base_url} not ready after {self.ready_timeout:.0f} s "
                        f"({last_error}); gunicorn log {self.log_path}:\n{self.log_tail()}"
                    )
                time.sleep(0.05)
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            timeout=30.0,
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return _tail(self.log_path.read_text(errors="replace"), lines)
        except OSError:
            return "(no gunicorn log)"

    def stop(self) -> None:
        """Stop gunicorn (SIGTERM to its process group, SIGKILL after 10 s). Idempotent."""
        if self._http is not None:
            self._http.close()
            self._http = None
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)

    # ------------------------------------------------------------------ API

    @property
    def http(self) -> httpx.Client:
        """httpx client for ``/api/canonical/0/`` with the bearer token set."""
        if self._http is None:
            raise BugsinkError("Bugsink server is not running (call start())")
        return self._http

    def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        resp = self.http.request(method, url, **kwargs)
        if resp.status_code >= 400:
            raise BugsinkError(
                f"{method} {resp.request.url} -> HTTP {resp.status_code}: {resp.text[:500]}"
            )
        return resp.json()

    def _get_all(self, path: str, params: dict[str, Any]) -> list[dict]:
        results: list[dict] = []
        page = self._request("GET", path, params=params)
        while True:
            results.extend(page["results"])
            if not page.get("next"):
                return results
            page = self._request("GET", page["next"])  # absolute URL, cursor included

    def create_team(self, name: str) -> str:
        return str(self._request("POST", "teams/", json={"name": name})["id"])

    def create_project(self, name: str, **fields: Any) -> tuple[int, str]:
        """Create a project (in a team made once per server); return ``(project_id, dsn)``.

        ``fields`` go into the POST body too (e.g. ``retention_max_event_count``,
        default 10,000). Names must be unique per server.
        """
        if self._team_id is None:
            self._team_id = self.create_team("sentry-ipy-tests")
        created = self._request(
            "POST", "projects/", json={"name": name, "team": self._team_id, **fields}
        )
        project_id = int(created["id"])
        dsn = self._request("GET", f"projects/{project_id}/")["dsn"]
        return project_id, dsn

    def projects(self) -> list[dict]:
        return self._get_all("projects/", {})

    def issues(self, project_id: int, **params: Any) -> list[dict]:
        """All issues of a project (every page), oldest first unless ``order="desc"``."""
        return self._get_all("issues/", {"project": project_id, **params})

    def events(self, issue_id: str, **params: Any) -> list[dict]:
        """All events of an issue (every page; newest first unless ``order="asc"``).

        The list rows have no ``data``: use ``event(row["id"])`` for the payload.
        """
        return self._get_all("events/", {"issue": str(issue_id), **params})

    def event(self, event_id_or_pk: str | uuid.UUID) -> dict:
        """One event with its raw ``data`` payload, by pk ``id`` or SDK ``event_id``.

        Bugsink's ``events/ID/`` knows only the pk; an SDK event id (hex or dashed)
        is resolved with ``events/lookup/`` across this server's projects.
        """
        try:
            key = uuid.UUID(str(event_id_or_pk))
        except ValueError:
            raise BugsinkError(f"not an event id: {event_id_or_pk!r}") from None
        resp = self.http.get(f"events/{key}/")
        if resp.status_code == 200:
            return resp.json()
        if resp.status_code != 404:
            raise BugsinkError(f"GET events/{key}/ -> HTTP {resp.status_code}: {resp.text[:500]}")
        for project in self.projects():
            resp = self.http.get(
                "events/lookup/", params={"project": project["id"], "event_id": key.hex}
            )
            if resp.status_code == 200:
                return resp.json()
        raise BugsinkError(f"no event with pk or event_id {event_id_or_pk}")

    def lookup_event(self, project_id: int, event_id: str) -> dict:
        """``events/lookup/``: the event (with ``data``) whose SDK ``event_id`` is given."""
        return self._request(
            "GET",
            "events/lookup/",
            params={"project": project_id, "event_id": uuid.UUID(str(event_id)).hex},
        )

    def wait_for_event(self, project_id: int, event_id: str, timeout: float = 10.0) -> dict:
        """Like ``lookup_event`` but polls until the event is there (for senders in
        other processes that may not have flushed yet)."""
        deadline = time.monotonic() + timeout
        params = {"project": project_id, "event_id": uuid.UUID(str(event_id)).hex}
        while True:
            resp = self.http.get("events/lookup/", params=params)
            if resp.status_code == 200:
                return resp.json()
            if resp.status_code != 404 or time.monotonic() > deadline:
                raise BugsinkError(
                    f"event {event_id} not in project {project_id} after {timeout} s "
                    f"(HTTP {resp.status_code}: {resp.text[:200]})"
                )
            time.sleep(0.05)


class _PortTaken(Exception):
    pass
