"""``%sentry_browse`` in a real JupyterLab, rendered by Debian's Chromium, driven by Playwright.

The test starts JupyterLab on loopback with isolated ``JUPYTER_*`` dirs and a
random token; its kernels reach the session's local backend through
``SENTRY_*`` env. It writes a notebook that loads the extension and runs
``%sentry_browse notebook``, opens it, runs every cell, clicks the seeded issue
in the list and waits for the detail pane to show its title and stack trace and
for its events-over-time chart to render; then it clicks Resolve and Ignore and
reads the issue's status at the local backend itself. A screenshot lands in the
test's tmp dir.

Needs ``/usr/bin/chromium`` (``tests/setup_chromium.sh``) and the ``playwright``
package; it never runs ``playwright install``. Without them it skips, except
under ``CI`` where it fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage"]
TIMEOUT_MS = 120_000  # generous: CI has 2 cores and JupyterLab's first load is heavy


def _require_browser() -> None:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (run tests/setup_chromium.sh)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    jupyter = Path(sys.executable).with_name("jupyter-lab")
    if not jupyter.exists():
        missing.append("jupyterlab (pip install -e '.[test]')")
    if missing:
        reason = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed_issue(local_server: Any) -> tuple[str, str]:
    """Send one exception with a unique message to the ``notebook`` project; its title and issue ID."""
    import sentry_sdk

    from tests._sdk import sending_to

    marker = f"browser widget marker {uuid.uuid4().hex[:8]}"
    with sending_to(local_server.dsn("notebook")):
        try:
            raise LookupError(marker)
        except LookupError as exc:
            sentry_sdk.capture_exception(exc)
    deadline = time.monotonic() + 10
    while not (found := [i for i in local_server.store.issues() if marker in i["title"]]):
        assert time.monotonic() < deadline, "the seeded event did not reach the local backend"
        time.sleep(0.1)
    return f"LookupError: {marker}", str(found[0]["id"])


def _stored_status(local_server: Any, issue_id: str) -> tuple[str, str | None]:
    issue = next(i for i in local_server.store.issues() if str(i["id"]) == issue_id)
    return issue["status"], issue["substatus"]


def _notebook() -> dict[str, Any]:
    def cell(source: str) -> dict[str, Any]:
        return {"cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:8],
                "metadata": {}, "outputs": [], "source": source}

    return {"cells": [cell("%load_ext sentry_ipy"), cell("%sentry_browse notebook")],
            "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture()
def jupyterlab(tmp_path: Path, local_server: Any) -> Iterator[str]:
    """A JupyterLab server on loopback; yields the URL of the test notebook (with its token)."""
    _require_browser()
    root = tmp_path / "root"
    root.mkdir()
    (root / "browse.ipynb").write_text(json.dumps(_notebook()))
    settings = tmp_path / "jupyter-settings"
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false"}))  # no "get Jupyter news?" toast over the page
    port, token = _free_port(), secrets.token_hex(16)
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ,
           "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
           "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "jupyter-workspaces"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTER_PLATFORM_DIRS": "1",
           "IPYTHONDIR": str(tmp_path / "ipython"),
           "SENTRY_URL": local_server.url, "SENTRY_AUTH_TOKEN": local_server.token,
           "SENTRY_ORG": local_server.org_slug, "SENTRY_PROJECT": "notebook",
           "SENTRY_DSN": local_server.dsn("notebook")}
    log = (tmp_path / "jupyterlab.log").open("wb")
    proc = subprocess.Popen(
        [str(Path(venv_bin) / "jupyter-lab"), "--no-browser", "--allow-root", "--ip", "127.0.0.1",
         "--port", str(port), "--ServerApp.port_retries=0", f"--ServerApp.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}; see {tmp_path / 'jupyterlab.log'}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer in 120 s; see {tmp_path / 'jupyterlab.log'}")
            time.sleep(0.25)
        yield f"{base}/lab/tree/browse.ipynb?token={token}"
    finally:
        proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


def test_browse_widget_renders_and_shows_the_clicked_issue(jupyterlab: str, local_server: Any,
                                                           tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    title, issue_id = _seed_issue(local_server)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(jupyterlab, wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            # Run only once the notebook's kernel is up, through JupyterLab's own command.
            page.wait_for_function(
                "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " const k = w && w.sessionContext && w.sessionContext.session"
                " && w.sessionContext.session.kernel;"
                " return !!k && k.status === 'idle'; }")
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

            widget = page.locator(".sentry-browse")
            expect(widget).to_be_visible()
            option = page.locator(".sentry-browse-list option", has_text=title)
            expect(option).to_have_count(1)
            expect(page.locator(".sentry-browse-status")).to_contain_text("issue")
            option.click()
            detail = page.locator(".sentry-browse-detail")
            expect(detail).to_contain_text(title)
            expect(detail.locator(".sentry-browse-stack")).to_contain_text("_seed_issue")
            chart = page.locator(".sentry-browse-chart img")
            expect(chart).to_be_visible()  # the events-over-time chart, a PNG the kernel drew
            page.wait_for_function("() => { const img = document.querySelector('.sentry-browse-chart img');"
                                   " return !!img && img.complete && img.naturalWidth > 100; }")
            resolve = page.locator("button.sentry-browse-resolve")
            expect(resolve).to_be_enabled()
            assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                                ).count() == 0, "a cell wrote to stderr"
            widget.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "issue-browser.png"), full_page=True)
            widget.screenshot(path=str(tmp_path / "issue-browser-widget.png"))
            # Round trips from a browser click to the backend and back, read at the backend itself.
            status_line = page.locator(".sentry-browse-status")
            page.locator("button.sentry-browse-ignore").click()  # until escalating, the menu's default
            expect(status_line).to_contain_text("status unresolved → ignored")
            expect(status_line).to_contain_text("It left the list (query: is:unresolved)")
            expect(option).to_have_count(0)
            assert _stored_status(local_server, issue_id) == ("ignored", "archived_until_escalating")
            page.locator(".sentry-browse input[placeholder^='Sentry search']").fill("")
            page.locator("button.sentry-browse-refresh").click()
            option = page.locator(".sentry-browse-list option", has_text=title)
            expect(option).to_contain_text("— ignored")
            option.click()
            expect(detail).to_contain_text("Status ignored")
            expect(resolve).to_be_enabled()
            resolve.click()
            expect(status_line).to_contain_text("status ignored → resolved")
            expect(detail).to_contain_text("Status resolved")
            expect(resolve).to_be_disabled()
            assert _stored_status(local_server, issue_id)[0] == "resolved"
            shots = os.environ.get("SENTRY_IPY_SCREENSHOTS")
            if shots:  # keep a copy outside pytest's tmp dir (CI artifacts)
                Path(shots).mkdir(parents=True, exist_ok=True)
                shutil.copy(tmp_path / "issue-browser.png", Path(shots) / "issue-browser.png")
        finally:
            browser.close()
