# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compute the targets of make bench (issues 10 and 26) from the values in results.json.

Shared by bench/run_bench.py (which writes them into results.json) and
bench/render_docs.py (which recomputes them, so the page follows this file even
for a results.json written before a target changed).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


# The memory target counts from this many hosts up (below it, start-up memory dominates both).
MEMORY_FROM_HOSTS = 3000


def compute_targets(r):
    """Targets of issues 10 and 26 from whatever parts results.json holds; value None = not measured."""
    targets = {}

    def add(name, bound, value, **extra):
        target = dict(bound, value=value, **extra)
        if value is None:
            target['met'] = None
        elif 'max' in target:
            target['met'] = value <= target['max']
        else:
            target['met'] = value >= target['min']
        targets[name] = target
    add('role_rerun_over_floor', {'max': 1.3}, r.get('role_rerun_over_floor'))
    add('role_first_over_floor', {'max': 1.6}, r.get('role_first_over_floor'))
    add('plan_worst_case_ms', {'max': 100}, r.get('plan_worst_case_ms'))
    add('info_50k_sockets_ms', {'max': 500}, r.get('info_50k_sockets_ms'))
    add('module_peak_rss_mb', {'max': 50}, r.get('module_peak_rss_mb'))
    ratios = r.get('scale_role_over_floor') or {}
    worst = max(ratios, key=lambda n: ratios[n]) if ratios else None
    add('scale_role_over_floor', {'max': 1.6}, ratios[worst] if worst else None,
        note='the largest ratio over every N', at_hosts=int(worst) if worst else None)
    add('scale_growth', {'max': 1.05}, r.get('scale_growth'),
        largest_hosts=max(r['scale_hosts']) if r.get('scale_hosts') else None,
        reference_hosts=r.get('scale_growth_reference_hosts'))
    # Peak memory (sum of RSS over the process tree) of the role over the floor's, from 3,000 hosts up.
    memory = dict((n, value) for n, value in (r.get('scale_rss_over_floor') or {}).items() if int(n) >= MEMORY_FROM_HOSTS)
    largest = max(memory, key=lambda n: memory[n]) if memory else None
    add('scale_rss_over_floor', {'max': 1.5}, memory[largest] if largest else None,
        note='the largest ratio from %d hosts up' % MEMORY_FROM_HOSTS, at_hosts=int(largest) if largest else None)
    ssh_n = max(r['ssh_hosts']) if r.get('ssh_hosts') else None
    add('ssh_role_rerun_over_floor', {'max': 1.2}, r.get('ssh_role_rerun_over_floor'), hosts=ssh_n)
    add('ssh_role_first_over_floor', {'max': 1.4}, r.get('ssh_role_first_over_floor'), hosts=ssh_n)
    return targets
