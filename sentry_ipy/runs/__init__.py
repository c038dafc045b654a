"""Headless notebook runs, monitored: ``sentry-ipy run NOTEBOOK.ipynb [-p NAME VALUE ...]``.

:func:`run_notebook` executes a notebook with nbclient (papermill-style
parameters) as one monitored job: a release-health session, one transaction
with a span per cell, the failing cell's error captured once with the run's
context, and the executed notebook saved. nbclient is imported on first use.
"""

from __future__ import annotations

from ._parameters import INJECTED_TAG, PARAMETERS_TAG, inject_parameters, parse_value
from ._runner import Outcome, RunResult, run_notebook

__all__ = ["INJECTED_TAG", "PARAMETERS_TAG", "Outcome", "RunResult", "inject_parameters", "parse_value",
           "run_notebook"]
