# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read bench/results.json for the page and the charts: one loader, one order of the podman part's runs.

Shared by bench/render_docs.py (docs/benchmarks.md) and bench/chart.py (the
charts), so both read the file the same way and show the runs in one order.
Standard library only: chart.py runs it in the bench venv, render_docs.py in
the project venv.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# The podman part's runs as the page and the chart show them: the three
# targeted runs and the baseline, then the two diagnostics.
RUN_ORDER = ('floor', 'role_first', 'role_rerun', 'baseline', 'role_no_audit', 'module_only')


def load_results(path):
    """The results.json at ``path``, as written by bench/run_bench.py."""
    with open(path) as handle:
        return json.load(handle)


def ordered_runs(present):
    """The runs of RUN_ORDER that ``present`` (a mapping keyed by run, e.g. results['summary']) holds, in that order."""
    return [kind for kind in RUN_ORDER if kind in present]
