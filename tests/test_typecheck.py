"""The package type-checks clean under the ``[tool.mypy]`` settings in pyproject.toml."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_mypy_reports_no_errors() -> None:
    if importlib.util.find_spec("mypy") is None:
        message = "mypy is not installed (pip install -e '.[test]')"
        if os.environ.get("CI"):
            pytest.fail(f"{message} -- CI must not skip the type check", pytrace=False)
        pytest.skip(message)
    result = subprocess.run([sys.executable, "-m", "mypy", "sentry_ipy"], cwd=REPO,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"mypy failed:\n{result.stdout}{result.stderr}"
