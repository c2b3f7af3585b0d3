# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Draw the charts of make bench (docs/benchmarks.png, docs/benchmarks-scale.png) from bench/results.json.

1. podman part: seconds per host for each run (bars);
2. scale part: seconds per host against the number of hosts, role and floor,
   their ratio, and the peak memory (RSS, PSS) of both process trees.  A chart whose part is not in results.json is not written.

Usage: .cache/bench-venv/bin/python bench/chart.py bench/results.json docs/benchmarks.png [docs/benchmarks-scale.png]
(matplotlib comes from bench/requirements.txt, installed by scripts/bench.sh.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  pylint: disable=wrong-import-position

from bench_results import load_results, ordered_runs  # noqa: E402  bench/bench_results.py
from bench_targets import compute_targets  # noqa: E402  bench/bench_targets.py

LABELS = {
    'floor': 'floor\nansible -m ping',
    'role_first': 'role\nfirst run',
    'role_rerun': 'role\nsecond run',
    'baseline': 'baseline\nfacts + sysctl x2',
    'role_no_audit': 'role second run\nwithout the audit\n(diagnostic)',
    'module_only': 'local_ports task\nalone, second run\n(diagnostic)',
}
COLORS = {'floor': '#7f7f7f', 'role_first': '#1f77b4', 'role_rerun': '#4fa3e0', 'baseline': '#d62728',
          'role_no_audit': '#b9d7ee', 'module_only': '#b9d7ee'}


def _log_hosts_axis(axis, hosts, label):
    axis.set_xscale('log')
    axis.set_xticks(hosts)
    axis.set_xticklabels(['{:,}'.format(n) for n in hosts])
    axis.minorticks_off()
    axis.set_xlabel(label)
    axis.grid(linewidth=0.3)


def _time_panel(axis, results, hosts):
    """Seconds per host against N: role, floor (and own), every repetition and the medians."""
    kinds = [('role', '#1f77b4', 'role, --tags reserved_ports_validate'),
             ('floor', '#7f7f7f', 'floor: one set_fact per host')]
    if results.get('scale_own_s'):
        kinds.append(('own', '#2ca02c', 'role without ansible-core\'s argument-spec task'))
    for kind, color, label in kinds:
        medians = [results['scale_%s_s' % kind][str(n)] / n for n in hosts]
        axis.plot(hosts, medians, marker='o', color=color, label=label)
        for n in hosts:
            points = [run['wall_s'] / n for run in results['scale']['raw'][str(n)][kind]]
            axis.scatter([n] * len(points), points, color=color, s=10, alpha=0.6, zorder=3)
        for n, value in zip(hosts, medians):
            axis.annotate('%.3f s' % value, (n, value), textcoords='offset points', xytext=(4, 6), fontsize=8, color=color)
    _log_hosts_axis(axis, hosts, 'hosts (ansible_connection=local, forks %d)' % results['scale']['forks'])
    axis.set_ylabel('seconds per host (wall time / hosts)')
    axis.set_ylim(bottom=0)
    axis.legend(fontsize=8, loc='upper left')


def _ratio_panel(axis, results, hosts):
    """role / floor against N, with its target."""
    bound = compute_targets(results)['scale_role_over_floor']['max']
    ratios = [results['scale_role_over_floor'][str(n)] for n in hosts]
    axis.plot(hosts, ratios, marker='o', color='#1f77b4')
    for n, value in zip(hosts, ratios):
        axis.annotate('%.2fx' % value, (n, value), textcoords='offset points', xytext=(4, 6), fontsize=8)
    axis.axhline(bound, color='#555555', linestyle='--', linewidth=0.9, label='target: at most %.1fx' % bound)
    _log_hosts_axis(axis, hosts, 'hosts')
    axis.set_ylabel('role / floor (median wall time)')
    axis.set_ylim(0, max(ratios + [bound]) * 1.25)
    axis.legend(fontsize=8, loc='lower right')


def _memory_panel(axis, results, hosts):
    """Peak RSS (solid) and PSS (dashed) of the whole process tree against N, role and floor."""
    for kind, prefix, color in (('role', 'scale_peak', '#1f77b4'), ('floor', 'scale_floor_peak', '#7f7f7f')):
        for measure, style in (('rss', '-'), ('pss', '--')):
            values = results.get('%s_%s_mb' % (prefix, measure)) or {}
            if not all(str(n) in values for n in hosts):
                continue
            points = [values[str(n)] for n in hosts]
            axis.plot(hosts, points, marker='o', linestyle=style, color=color, label='%s %s' % (kind, measure.upper()))
            if measure == 'rss':
                for n, value in zip(hosts, points):
                    axis.annotate('%.0f' % value, (n, value), textcoords='offset points', xytext=(4, 6), fontsize=8,
                                  color=color)
    _log_hosts_axis(axis, hosts, 'hosts')
    axis.set_ylabel('peak MB, sum over the ansible-playbook tree')
    axis.set_ylim(bottom=0)
    axis.legend(fontsize=8, loc='upper left')


def scale_chart(results, path):
    """Seconds per host against N; the ratio to the floor; peak memory of both process trees."""
    hosts = sorted(int(n) for n in results['scale_role_over_floor'])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), dpi=110, gridspec_kw={'width_ratios': [3, 2, 2]})
    _time_panel(axes[0], results, hosts)
    _ratio_panel(axes[1], results, hosts)
    _memory_panel(axes[2], results, hosts)
    machine = results.get('machine', {})
    fig.suptitle('portguard.ephemeral.reserved_ports, controller-side part at scale: ansible-core %s, %s CPUs'
                 % (machine.get('ansible_core', '?'), machine.get('cpus', '?')), fontsize=9.5)
    fig.tight_layout()
    fig.savefig(path)
    print('wrote %s' % path)


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    results = load_results(argv[1])
    if len(argv) == 4 and results.get('scale_role_over_floor'):
        scale_chart(results, argv[3])
    if 'summary' not in results:
        print('no podman part in %s: %s not written' % (argv[1], argv[2]))
        return 0
    hosts = results['hosts']
    kinds = ordered_runs(results['raw'])
    floor = results['summary']['floor']['median_s']
    fig, axis = plt.subplots(figsize=(10, 5.2), dpi=110)
    for index, kind in enumerate(kinds):
        summary = results['summary'][kind]
        per_host = summary['median_s'] / hosts
        axis.bar(index, per_host, color=COLORS[kind], width=0.62, edgecolor='black', linewidth=0.5,
                 hatch='//' if kind in ('role_no_audit', 'module_only') else None)
        points = [run['wall_s'] / hosts for run in results['raw'][kind]]
        axis.scatter([index] * len(points), points, color='black', s=12, zorder=3)
        axis.annotate('%.2f s\n%.2fx floor' % (per_host, summary['median_s'] / floor), (index, per_host),
                      textcoords='offset points', xytext=(0, 6), ha='center', fontsize=8.5,
                      bbox=dict(boxstyle='round,pad=0.15', facecolor='white', edgecolor='none', alpha=0.85), zorder=4)
    for ratio, style in ((1.3, ':'), (1.6, '--')):
        axis.axhline(floor * ratio / hosts, color='#555555', linestyle=style, linewidth=0.9,
                     label='%.1fx floor: target for the role\'s %s run' % (ratio, 'second' if ratio == 1.3 else 'first'))
    axis.legend(loc='upper right', fontsize=8, framealpha=0.9)
    axis.set_xticks(range(len(kinds)))
    axis.set_xticklabels([LABELS[k] for k in kinds], fontsize=8.5)
    axis.set_ylabel('seconds per host (median wall time / hosts)')
    machine = results.get('machine', {})
    axis.set_title('portguard.ephemeral.reserved_ports: %d podman hosts, forks %d, %d repetitions (dots), '
                   'ansible-core %s, %s CPUs' % (hosts, results['forks'], results['repetitions'],
                                                 machine.get('ansible_core', '?'), machine.get('cpus', '?')), fontsize=9.5)
    axis.set_ylim(0, max(max(r['wall_s'] for r in results['raw'][k]) for k in kinds) / hosts * 1.35)
    axis.grid(axis='y', linewidth=0.3)
    fig.tight_layout()
    fig.savefig(argv[2])
    print('wrote %s' % argv[2])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
