"""The README is a contract: its two commands, its client configurations and its magics must stay true."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_first_lines_give_the_two_commands_and_ci_runs_the_second() -> None:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block and README.index(block.group(0)) < 200, "the two commands must open the README"
    lines = [ln.split("#")[0].strip() for ln in block.group(1).strip().splitlines()]
    assert len(lines) == 2
    install, test = lines
    assert install.endswith("sentry-ipy demo")
    assert test == "bash tests/run.sh"
    assert "bash tests/run.sh" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("block", re.findall(r"```json\n(.*?)```", README, re.S))
def test_client_configurations_are_valid_json_naming_our_server(block: str) -> None:
    config = json.loads(block)
    servers = config.get("mcpServers") or config.get("servers")
    assert servers and "sentry" in servers
    server = servers["sentry"]
    if "command" in server:
        argv = [server["command"], *server.get("args", [])]
        assert any(a.endswith("sentry-ipy-mcp") for a in argv), argv
    else:
        assert server["url"].endswith("/mcp")


def test_console_scripts_named_in_the_readme_exist() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    for script in ("sentry-ipy", "sentry-ipy-mcp"):
        assert re.search(rf'^{script} = "sentry_ipy\.', pyproject, re.M)


def test_every_magic_in_the_readme_is_registered() -> None:
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.run_line_magic("load_ext", "sentry_ipy")
    try:
        magics = shell.magics_manager.magics
        for name in set(re.findall(r"^%{1,2}(sentry\w*)", README, re.M)):
            assert name in magics["line"] or name in magics["cell"], name
        ours = [ln for ln in README.splitlines() if "sentry-ipy-mcp" in ln and "--method" not in ln]  # not the Inspector's flags
        for flag in set(re.findall(r"sentry-ipy-mcp[^\n`]*?(--[a-z-]+)", "\n".join(ours))):
            assert flag in _mcp_help(), flag
    finally:
        shell.run_line_magic("unload_ext", "sentry_ipy")


def _mcp_help() -> str:
    import contextlib
    import io

    from sentry_ipy.mcp import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(shlex.split("--help"))
    return out.getvalue()
