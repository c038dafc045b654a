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


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    return README[start:README.index("\n## ", start + 3)]


def test_sentry_clients_section_pins_what_the_conformance_suites_run() -> None:
    from sentry_ipy.cli import _parser

    section = _section("Sentry's own clients against the local backend")
    setup = (ROOT / "tests" / "setup_sentry_clients.sh").read_text()
    pins = dict(re.findall(r'^(MCP_VERSION|SENTRY_VERSION|SENTRY_CLI_VERSION)="([^"]+)"', setup, re.M))
    assert f"@sentry/mcp-server@{pins['MCP_VERSION']}" in section
    assert f"sentry@{pins['SENTRY_VERSION']} " in section
    assert f"sentry-cli=={pins['SENTRY_CLI_VERSION']}" in section
    local = _parser()._subparsers._group_actions[0].choices["local"]  # type: ignore[union-attr]
    flags = {opt for action in local._actions for opt in action.option_strings}
    for flag in re.findall(r"sentry-ipy local ((?:--[a-z-]+(?: [^ -]\S*)? ?)+)", section)[0].split():
        if flag.startswith("--"):
            assert flag in flags, flag
    for name in ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):  # what --tls prints
        assert f"{name}=./sentry-data/tls/ca.pem" in section
    env = (ROOT / "tests" / "_conformance.py").read_text()
    for name in ("SENTRY_DISABLE_UPDATE_CHECK", "SENTRY_CLI_NO_TELEMETRY", "SENTRY_CLI_NO_UPDATE_CHECK", "DO_NOT_TRACK"):
        assert name in section and name in env, name


def test_configuration_table_is_generated_from_the_settings_declaration() -> None:
    """Adding a setting to config.SETTINGS means regenerating this table (settings_table())."""
    from sentry_ipy.config import settings_table

    assert settings_table() in README, "README's configuration table differs from config.SETTINGS:\n" \
        + settings_table()


def test_every_option_is_a_trait_and_a_flag_with_the_declared_help() -> None:
    from sentry_ipy.config import OPTIONS
    from sentry_ipy.mcp import build_parser
    from sentry_ipy.notebook._magics import SentryMagics

    traits = SentryMagics.class_traits(config=True)
    flags = {a.dest: a for a in build_parser()._actions}
    for setting in OPTIONS:
        assert traits[setting.name].help == setting.trait_help()
        assert flags[setting.name].help == setting.flag_help()
