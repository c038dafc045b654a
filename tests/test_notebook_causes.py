"""One issue per root cause: cell fingerprints, cascades and variable context, in a real shell.

Uses ``tests/_shell.py``'s ``ip`` fixture (an InteractiveShell with the extension
loaded, sending to the session's local backend over loopback) and reads back
what the backend stored and how it grouped it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

pytest.importorskip("IPython")

from IPython.utils.capture import capture_output  # noqa: E402

from sentry_ipy.notebook._causes import CascadeChain, Root, missing_name, undefined_names  # noqa: E402
from sentry_ipy.notebook._variables import MAX_BYTES, MAX_NAMES, MAX_REPR  # noqa: E402
from tests._sdk import stored_events  # noqa: E402
from tests._shell import ip  # noqa: E402, F401  (fixture)


def _flush() -> None:
    import sentry_sdk

    sentry_sdk.flush(5)


def _issue_of(srv: Any, event_id: str | None) -> int:
    assert event_id, "the hook sent no event"
    row = srv.store.one("SELECT issue_id FROM events WHERE event_id = ?", [event_id.replace("-", "")])
    assert row is not None, f"event {event_id} was not stored"
    return int(row["issue_id"])


def _fail(ip: Any, source: str, cell_id: str | None = None) -> str | None:
    ip.run_cell(source, store_history=True, cell_id=cell_id)
    hook = ip._sentry_ipy_state[1]
    return hook.last_event_id


def _in_notebook(ip: Any, path: str) -> None:
    ip.user_ns["__session__"] = path


def test_same_cell_reruns_are_one_issue_other_cells_and_notebooks_are_not(ip: Any, local_server: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    _in_notebook(ip, f"/work/{marker}/a.ipynb")
    cell = f"def load():\n    raise ValueError('bad row {marker}')\nload()"
    first = _fail(ip, cell, cell_id="c-load")
    again = _fail(ip, cell.replace("bad row", "bad row again"), cell_id="c-load")  # edited, same cell id
    other_cell = _fail(ip, cell, cell_id="c-other")
    _in_notebook(ip, f"/work/{marker}/b.ipynb")
    other_notebook = _fail(ip, cell, cell_id="c-load")
    _flush()
    issues = [_issue_of(local_server, e) for e in (first, again, other_cell, other_notebook)]
    assert issues[0] == issues[1]
    assert len({issues[0], issues[2], issues[3]}) == 3
    stored = stored_events(local_server, lambda e: e.get("event_id") == str(first).replace("-", ""))[0]
    assert stored["fingerprint"] == ["notebook-cell", f"/work/{marker}/a.ipynb", "id:c-load", "ValueError",
                                     "cell:load"]


def test_without_a_cell_id_the_position_is_used_and_grouping_can_be_turned_off(ip: Any,
                                                                              local_server: Any) -> None:
    _in_notebook(ip, "/work/pos.ipynb")
    event = _fail(ip, "1/0")
    count = ip.execution_count - 1
    _flush()
    stored = stored_events(local_server, lambda e: e.get("event_id") == str(event).replace("-", ""))[0]
    assert stored["fingerprint"][2] == f"position:{count}"
    ip.run_line_magic("config", "SentryMagics.group_by_cell = False")
    try:
        plain = _fail(ip, "1/0", cell_id="c1")
        _flush()
        stored = stored_events(local_server, lambda e: e.get("event_id") == str(plain).replace("-", ""))[0]
        assert "fingerprint" not in stored or stored["fingerprint"] == ["{{ default }}"]
    finally:
        ip.run_line_magic("config", "SentryMagics.group_by_cell = True")
        ip.config.SentryMagics.pop("group_by_cell", None)


def test_a_cascade_of_three_dependent_failures_is_one_issue(ip: Any, local_server: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    _in_notebook(ip, f"/work/{marker}/cascade.ipynb")
    root = _fail(ip, f"prices = load_prices_{marker}()", cell_id="c1")  # NameError of its own: a real bug
    with capture_output() as second:
        _fail(ip, "total = prices.sum()", cell_id="c2")
    with capture_output() as third:
        _fail(ip, "report = {'total': total}", cell_id="c3")
    with capture_output() as fourth:
        _fail(ip, "print(report)", cell_id="c4")
    _flush()
    for out, name in ((second, "prices"), (third, "total"), (fourth, "report")):
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, out.stderr
        assert f"name '{name}' is not defined" in lines[0] and "counted on that issue" in lines[0]
        assert str(root) in lines[0]
    root_issue = _issue_of(local_server, root)
    events = local_server.store.query("SELECT event_id, type, issue_id FROM events WHERE payload LIKE ?",
                                      [f"%{marker}%"])
    assert {e["issue_id"] for e in events} == {root_issue}
    cascades = [e for e in events if e["type"] != "error"]
    assert len(cascades) == 3  # counted on the root issue as warnings
    last = stored_events(local_server, lambda e: e.get("contexts", {}).get("cascade", {}).get("name") == "report"
                         and e.get("contexts", {}).get("cascade", {}).get("cascades") == 3)
    assert last, "the third cascade is counted on the root"
    crumbs = [c for c in last[-1]["breadcrumbs"]["values"] if c.get("category") == "notebook.cascade"]
    assert [c["data"]["cell"] for c in crumbs][-3:] == ["id:c2", "id:c3", "id:c4"]
    # a name defined since breaks the chain: the next NameError on it is a bug of its own
    ip.run_cell("prices = [1, 2]")
    fresh = _fail(ip, "prices.nope", cell_id="c5")
    _flush()
    assert _issue_of(local_server, fresh) != root_issue


def test_restarting_clears_the_chain(ip: Any, local_server: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    _in_notebook(ip, f"/work/{marker}/restart.ipynb")
    root = _fail(ip, f"frame = read_{marker}()", cell_id="r1")
    ip.run_line_magic("unload_ext", "sentry_ipy")
    ip.run_line_magic("load_ext", "sentry_ipy")  # a new kernel run: a new hook, an empty chain
    with capture_output() as out:
        after = _fail(ip, "frame.head()", cell_id="r2")
    _flush()
    assert "counted on that issue" not in out.stderr
    assert _issue_of(local_server, after) != _issue_of(local_server, root)


def test_without_a_notebook_path_a_cascade_is_a_breadcrumb_and_one_line(ip: Any, local_server: Any) -> None:
    ip.user_ns.pop("__session__", None)
    marker = uuid.uuid4().hex[:8]
    root = _fail(ip, f"rows = fetch_{marker}()")
    _flush()
    before = len(local_server.store.events())
    with capture_output() as out:
        cascade = _fail(ip, "rows[0]")
    assert cascade is None and "counted on that issue" in out.stderr
    later = _fail(ip, f"raise RuntimeError('later {marker}')")
    _flush()
    stored = stored_events(local_server, lambda e: e.get("event_id") == str(later).replace("-", ""))[0]
    assert len(local_server.store.events()) == before + 1  # only the later error
    crumbs = [c for c in stored["breadcrumbs"]["values"] if c.get("category") == "notebook.cascade"]
    assert crumbs and crumbs[-1]["data"]["root_event_id"] == root


def test_attribute_and_key_cascades_follow_the_names_a_failed_cell_left_unset(ip: Any,
                                                                             local_server: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    _in_notebook(ip, f"/work/{marker}/attrs.ipynb")
    ip.run_cell("class Cfg: pass\ncfg = Cfg()\nstats = {}")
    root = _fail(ip, f"cfg.threshold = 1 / 0\nstats['mean'] = '{marker}'", cell_id="a1")
    with capture_output() as out1:
        _fail(ip, "cfg.threshold + 1", cell_id="a2")
    with capture_output() as out2:
        _fail(ip, "stats['mean']", cell_id="a3")
    _flush()
    assert "'threshold'" in out1.stderr and "counted on that issue" in out1.stderr
    assert "'mean'" in out2.stderr and "counted on that issue" in out2.stderr
    issue = _issue_of(local_server, root)
    rows = local_server.store.query("SELECT issue_id FROM events WHERE payload LIKE ?", ["%attrs.ipynb%"])
    assert {r["issue_id"] for r in rows} == {issue} and len(rows) == 3


def test_variable_context_is_present_scrubbed_and_bounded(ip: Any, local_server: Any) -> None:
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    ip.user_ns.update({
        "df": pd.DataFrame({"price": [1.5, 2.0], "sku": ["a", "b"]}),
        "arr": np.zeros((3, 4), dtype="int32"),
        "api_token": "not-a-shape-but-a-secret-name",
        "db_url": "postgresql://admin:hunter2hunter2@db:5432/x",
        "huge": "x" * 1_000_000,
        "rows": list(range(100_000)),
    })
    many = " + ".join(f"v{i}" for i in range(MAX_NAMES + 10))
    ip.user_ns.update({f"v{i}": i for i in range(MAX_NAMES + 10)})
    event = _fail(ip, f"df, arr, api_token, db_url, huge, rows\nz = {many}\nraise KeyError('sku2')")
    _flush()
    stored = stored_events(local_server, lambda e: e.get("event_id") == str(event).replace("-", ""))[0]
    variables = stored["contexts"]["variables"]
    assert variables["df"]["type"] == "pandas.DataFrame" and variables["df"]["shape"] == [2, 2]
    assert variables["df"]["columns"] == {"price": "float64", "sku": str(ip.user_ns["df"]["sku"].dtype)}
    assert "repr" not in variables["df"]  # never a frame's values
    assert variables["arr"] == {"type": "numpy.ndarray", "shape": [3, 4], "dtype": "int32"}
    assert "a-secret-name" not in json.dumps(stored)  # a secret-named variable: never its value
    assert "hunter2" not in json.dumps(stored) and "[Filtered]" in variables["db_url"]["repr"]
    assert variables["huge"]["len"] == 1_000_000 and len(variables["huge"]["repr"]) <= MAX_REPR
    assert variables["rows"]["len"] == 100_000
    assert len([k for k in variables if k != "…"]) <= MAX_NAMES and "more name(s) left out" in variables["…"]
    assert len(json.dumps(variables)) <= MAX_BYTES + 200  # the bound, plus the note


def test_cascade_rules_in_isolation() -> None:
    assert undefined_names("a = 1\nb, c = f()\nd.e = 2\ng['h'] = 3\nimport os.path\ndef k(): pass", 2) == \
        {"b", "c", "e", "h", "os", "k"}
    assert missing_name(NameError("name 'q' is not defined")) == "q"
    assert missing_name(KeyError(3)) is None
    chain = CascadeChain()
    root = Root(error="ValueError", cell="id:x", execution_count=1, event_id="e1", fingerprint=None)
    chain.record(root, "x = f()\ny = 2", 1)
    assert chain.root_of(NameError("name 'y' is not defined", name="y"), {}) is root
    assert chain.root_of(NameError("name 'y' is not defined", name="y"), {"y": 2}) is None
    assert chain.root_of(ValueError("y"), {}) is None
    chain.clear()
    assert chain.root_of(NameError("x", name="x"), {}) is None
