"""Magic lines in a real InteractiveShell: the size cap, linear splitting and expansion, positions.

A 10 MB ``%sentry_capture {big}`` kept a kernel in ``shlex`` for minutes, and
IPython's own ``$name`` expansion is quadratic in the line as typed. The line
is now capped at the limit MCP calls have (one sentence, and the next magic
runs), split and expanded in linear work (instruction counts under callgrind,
never seconds), and every required argument may be given in its place.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from sentry_ipy.tools import MAX_ARGUMENT_CHARS
from tests._sdk import stored_events
from tests._shell import ip

__all__ = ["ip"]

CAP_SENTENCE = (r"^%sentry_capture: the line is (\d+) KB, more than the 256 KB a magic accepts \(MCP calls "
                r"have the same limit\); pass a shorter value, e\.g\. a slice such as \{text\[:8000\]\}, or "
                r"call sentry_ipy\.tools\.run_tool from Python\.$")


def test_the_cap_is_the_one_mcp_has() -> None:
    from sentry_ipy import mcp

    assert mcp.MAX_ARGUMENT_CHARS is MAX_ARGUMENT_CHARS == 256 * 1024


def test_a_10_mb_line_is_one_sentence_and_the_next_magic_is_served(ip: Any, local_server: Any) -> None:
    import sentry_sdk

    ip.user_ns["big"] = "M" * (10 * 1024 * 1024)
    result = ip.run_cell("%sentry_capture {big}")
    assert isinstance(result.error_in_exec, UsageError)
    found = re.match(CAP_SENTENCE, str(result.error_in_exec))
    assert found and found.group(1) == "10240"
    # A quoted 400,000-character word (shlex took 2.7 s to split it) is refused the same way.
    with pytest.raises(UsageError, match=CAP_SENTENCE):
        ip.run_line_magic("sentry_capture", shlex.quote("M" * 400_000))
    after = ip.run_cell("%sentry_capture 'served after the cap 7301'")
    assert after.error_in_exec is None, after.error_in_exec
    sentry_sdk.flush(5)
    assert stored_events(local_server, lambda e: "served after the cap 7301" in json.dumps(e))


def test_a_long_line_under_the_cap_is_expanded_split_and_sent(ip: Any, local_server: Any) -> None:
    # 200,000 characters: IPython's expansion alone would rescan it from every position.
    line = "'" + "M" * 200_000 + " long line marker 7302' --level warning"
    result = ip.run_line_magic("sentry_capture", line)
    assert result.data["level"] == "warning" and result.data["event_id"]


def test_dollar_names_and_braces_expand_as_ipython_expands_them(ip: Any, local_server: Any) -> None:
    import sentry_sdk

    ip.user_ns["name"] = "stored_from_global"
    ip.run_cell("%sentry list_projects -o $name")
    assert "stored_from_global" in ip.user_ns
    ip.run_cell("%sentry list_projects -o {'stored' + '_from_braces'}")
    assert "stored_from_braces" in ip.user_ns
    # A magic inside a function sees the function's locals, as IPython's expansion does.
    ip.run_cell("def store():\n    target = 'stored_from_local'\n    %sentry list_projects -o $target\n"
                "store()")
    assert "stored_from_local" in ip.user_ns
    # $$name is a literal $name; inside single quotes $name stays as typed.
    with pytest.raises(UsageError, match=r"-o '\$name' is not a valid variable name"):
        ip.run_line_magic("sentry", "list_projects -o $$name")
    ip.run_line_magic("sentry_capture", "'$name stays as typed 7304' --level info")
    sentry_sdk.flush(5)
    assert stored_events(local_server, lambda e: "$name stays as typed 7304" in json.dumps(e))


def test_json_words_survive_splitting() -> None:
    from sentry_ipy.notebook._line import split_line

    assert split_line("p", '--tags {"team": "data sci"} --user {"id": "4 2"} x') == [
        "--tags", '{"team": "data sci"}', "--user", '{"id": "4 2"}', "x"]
    assert split_line("p", """a "b \\" \\x" 'c\\' '' d\\ e""") == ["a", 'b " \\x', "c\\", "", "d e"]
    assert split_line("p", "[ERROR] {not json}") == ["[ERROR]", "{not", "json}"]
    assert split_line("p", "[" * 5000 + " x") == ["[" * 5000, "x"]  # no recursion error
    with pytest.raises(UsageError, match=r"cannot split the line \(No closing quotation\); check the quotes"):
        split_line("p", 'say "hello')


@pytest.mark.timeout(900)  # callgrind runs IPython's import too: minutes of wall time on a busy machine
def test_magic_lines_are_split_and_expanded_in_linear_work() -> None:
    # CPU instructions under callgrind, not seconds: doubling the line about doubles the
    # work for each shape (shlex, the old JSON look-ahead and IPython's $name pattern
    # grew with the square of such lines).
    from tests._work import instructions

    shapes = ["a b ", "[ ", "{ ", '{"a', "\\\\x", '"\\\\', "'q' ", '"" ']
    small, large = 8192, 16384
    setup = ("import shlex\nfrom sentry_ipy.notebook._line import split_line, _FORMATTER\n"
             f"shapes = {shapes!r}\n"
             "lines = {(s, n): (s * (n // len(s) + 1))[:n] for s in shapes for n in "
             f"({small}, {large})}}\n"
             f"quoted = {{n: shlex.quote('M' * n) for n in ({small}, {large})}}\n"
             "def split(text):\n    try:\n        split_line('p', text)\n    except Exception:\n        pass\n"
             "ns = {'x': 'X'}\n")
    cases = ["split('warm up --x \"y\" {\"a\": 1}'); _FORMATTER.vformat('$x {x}', [], ns)"]
    for shape in shapes:
        cases += [f"split(lines[{shape!r}, {n}])" for n in (small, large)]
    cases += [f"split(quoted[{n}])" for n in (small, large)]
    for shape in ("a", "$x ", "'$x"):
        cases += [f"_FORMATTER.vformat(({shape!r} * {n})[:{n}], [], ns)" for n in (small, large)]
    counts = instructions(setup, cases)[1:]
    names = [*shapes, "quoted", "expand a", "expand $x", "expand '$x"]
    for i, name in enumerate(names):
        work_small, work_large = counts[2 * i], counts[2 * i + 1]
        assert work_large / work_small < 2.4, (name, work_small, work_large)
        assert work_large / large < 20_000, (name, work_large)


# ------------------------------------------------------------------ positions
@pytest.fixture()
def event_id(ip: Any, local_server: Any) -> str:
    import sentry_sdk

    sent = ip.run_line_magic("sentry_capture", "'positional probe 7303'")
    sentry_sdk.flush(5)
    assert stored_events(local_server, lambda e: e.get("event_id") == sent.data["event_id"])
    return str(sent.data["event_id"])


def test_every_required_argument_may_be_given_in_its_place(ip: Any, event_id: str) -> None:
    by_place = ip.run_line_magic("sentry", f"get_event notebook {event_id}")
    alias = ip.run_line_magic("sentry_event", f"notebook {event_id}")
    by_flags = ip.run_line_magic("sentry", f"get_event --projectSlug notebook --eventId {event_id}")
    mixed = ip.run_line_magic("sentry", f"get_event --eventId {event_id} notebook")
    mixed_kebab = ip.run_line_magic("sentry", f"get_event notebook --event-id {event_id}")
    configured = ip.run_line_magic("sentry_event", event_id)  # SENTRY_PROJECT fills projectSlug
    ids = {r.data["eventID"] for r in (by_place, alias, by_flags, mixed, mixed_kebab, configured)}
    assert ids == {event_id}


def test_a_wrong_count_names_the_expected_arguments(ip: Any, event_id: str) -> None:
    with pytest.raises(UsageError, match=r"^%sentry get_event takes 2 values in this order: projectSlug "
                                         r"eventId, got 3 \(notebook \w+ extra\); or name them as options "
                                         r"\(see %sentry get_event -h\)\.$"):
        ip.run_line_magic("sentry", f"get_event notebook {event_id} extra")
    with pytest.raises(UsageError, match=r"^%sentry_event takes 1 value in this order: projectSlug, got 2 "):
        ip.run_line_magic("sentry_event", f"--eventId {event_id} notebook extra")
    with pytest.raises(UsageError, match=r"^%sentry_note takes 2 values in this order: issueId text, got 0; "):
        ip.run_line_magic("sentry_note", "")
    with pytest.raises(UsageError, match=r"unrecognized arguments: --bogus"):
        ip.run_line_magic("sentry", f"get_event notebook {event_id} --bogus")
    with pytest.raises(UsageError, match=r"argument context: expected JSON, got '\{not-json\}'"):
        ip.run_line_magic("sentry_context", "name {not-json}")


def test_a_json_value_may_be_given_in_its_place(ip: Any) -> None:
    ip.user_ns["ctx"] = {"rows": 12, "model": "gbm v2"}
    ip.run_cell("import json")
    result = ip.run_cell("%sentry_context training {json.dumps(ctx)}")
    assert result.error_in_exec is None, result.error_in_exec


def test_help_shows_the_arguments_in_their_places(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("sentry", "get_event -h")
    out = capsys.readouterr().out
    assert "usage: %sentry get_event projectSlug eventId [options]" in out
    assert "projectSlug eventId may be given in this order or as options, in any mix." in " ".join(out.split())


def test_over_the_cap_in_a_real_kernel_the_next_cell_runs(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = ["%load_ext sentry_ipy", "big = 'M' * (10 * 1024 * 1024)", "%sentry_capture {big}",
             "sent = %sentry_capture 'served after the cap 7305'\nprint(sent.data['event_id'] is not None)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    # IPython shows a UsageError as its one line on stderr, no traceback.
    said = "".join(o.get("text", "") for o in nb.cells[2].outputs if o.get("name") == "stderr")
    assert said.startswith("UsageError: %sentry_capture: the line is 10240 KB, more than the 256 KB"), \
        nb.cells[2].outputs
    assert "Traceback" not in said and len(said.strip().splitlines()) == 1
    assert not [o for o in nb.cells[3].outputs if o.get("output_type") == "error"], nb.cells[3].outputs
    assert "".join(o.get("text", "") for o in nb.cells[3].outputs if o.get("name") == "stdout").strip() == "True"
