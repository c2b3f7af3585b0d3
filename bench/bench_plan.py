# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time the planning work for the worst-case reservation list (a make bench micro-benchmark).

The worst case is every other port from 1025 to 65535 (32256 ports, no two
adjacent, about 190 KB in the kernel's syntax).  Each step is timed with
timeit (``--repeat`` runs, default 9, of ``--number`` calls each); the median
per call is reported in milliseconds, as JSON on stdout: wall-clock time and, because
other work on a busy machine inflates wall-clock time, CPU time of this process
(``cpu_median_ms``) and the load average at the start.

Steps:
  parse_list       parse_ports() of the user list (ints)
  parse_string     parse_ports() of the same list as a kernel-syntax string
  plan_fresh       plan() against an empty live set (first run)
  plan_rerun       plan() against its own result (second run, nothing to do)
  format_ports     format_ports() of the planned set (the value written to /proc)
  render           the persisted file text: format both sets + _managed_file.render()
  plan_step        what the module does between reading and writing on a first run:
                   parse_list + plan_fresh + format_ports x2 + render
  rerun_step       the same on a second run: parse the user list, the live readback
                   and the owned record of our file, plan, and compare the file by
                   meaning (parse its value and the new value)

Exit status 1 if plan_step or rerun_step is over --target-ms (default 100).
Usage: python3 bench/bench_plan.py [--repeat N] [--number N] [--target-ms MS]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import platform
import statistics
import sys
import time
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_path():
    parts = ROOT.split(os.sep)
    if parts[-3:] == ['ansible_collections', 'portguard', 'ephemeral']:
        return os.sep.join(parts[:-3])
    base = os.path.join(ROOT, '.cache', 'collections')
    link = os.path.join(base, 'ansible_collections', 'portguard', 'ephemeral')
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    return base


sys.path.insert(0, _import_path())

from ansible_collections.portguard.ephemeral.plugins.module_utils import _managed_file, _owners, _plan, _ports  # noqa: E402

RANGE = (32768, 60999)
RES = 'net.ipv4.ip_local_reserved_ports'
RNG = 'net.ipv4.ip_local_port_range'


def build_inputs():
    ports = list(range(1025, 65536, 2))
    return ports, ','.join('%d' % port for port in ports)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=9)
    parser.add_argument('--number', type=int, default=1)
    parser.add_argument('--target-ms', type=float, default=100.0)
    args = parser.parse_args(argv)
    if args.repeat < 5:
        parser.error('--repeat must be at least 5')
    return args


def plan_for(live, wanted, owned=frozenset()):
    """The plan of one owner's merge run in the range RANGE: live reserved ports, the ports asked for, the
    ports that owner holds (and this module owns)."""
    holdings = _owners.Holdings({'bench': owned}, owned)
    return _plan.plan(_plan.Current(RANGE, live, holdings), _plan.Request(wanted, 'bench'))


def build_steps(user_list, user_string, desired, first):
    """The timed steps (see the module docstring) as (name, function) pairs, in the order they run."""
    live_text = _ports.format_ports(first.reserved_after) + '\n'
    owned_text = _ports.format_ports(first.owned_after)
    file_value = _ports.format_ports(first.reserved_after)

    def plan_fresh():
        return plan_for(frozenset(), desired)

    def plan_rerun():
        return plan_for(first.reserved_after, desired, first.owned_after)

    def render():
        return _managed_file.render([(RNG, _ports.format_range(RANGE, ' ')),
                                     (RES, _ports.format_ports(first.reserved_after))], first.holdings_after)

    def plan_step():
        wanted = _ports.parse_ports(user_list, 'reserved')
        result = plan_for(frozenset(), wanted)
        value = _ports.format_ports(result.reserved_after)
        return _managed_file.render([(RES, value)], result.holdings_after)

    def rerun_step():
        wanted = _ports.parse_ports(user_list, 'reserved')
        live = _ports.parse_kernel_readback(live_text)
        owned = _ports.parse_kernel_string(owned_text)
        result = plan_for(live, wanted, owned)
        new_value = _ports.format_ports(result.reserved_after)
        differs = _ports.parse_kernel_string(file_value) != _ports.parse_kernel_string(new_value)
        assert not result.live_changed and not differs
        return result

    return [
        ('parse_list', lambda: _ports.parse_ports(user_list)),
        ('parse_string', lambda: _ports.parse_ports(user_string)),
        ('plan_fresh', plan_fresh),
        ('plan_rerun', plan_rerun),
        ('format_ports', lambda: _ports.format_ports(first.reserved_after)),
        ('render', render),
        ('plan_step', plan_step),
        ('rerun_step', rerun_step),
    ]


def time_steps(steps, repeat, number):
    """Each step warmed up once, then timed (wall and CPU): median, min and max ms per call."""
    results = {}
    for name, func in steps:
        func()  # warm up
        times = timeit.Timer(func).repeat(repeat=repeat, number=number)
        cpu_times = timeit.Timer(func, timer=time.process_time).repeat(repeat=repeat, number=number)
        per_call = sorted(t * 1000.0 / number for t in times)
        results[name] = {
            'median_ms': round(statistics.median(per_call), 3),
            'min_ms': round(per_call[0], 3),
            'max_ms': round(per_call[-1], 3),
            'cpu_median_ms': round(statistics.median(t * 1000.0 / number for t in cpu_times), 3),
        }
    return results


def main(argv=None):
    args = parse_args(argv)
    user_list, user_string = build_inputs()
    desired = _ports.parse_ports(user_list)
    assert _ports.parse_ports(user_string) == desired
    first = plan_for(frozenset(), desired)
    steps = build_steps(user_list, user_string, desired, first)
    load = os.getloadavg()
    results = time_steps(steps, args.repeat, args.number)
    ok = all(results[name]['median_ms'] < args.target_ms for name in ('plan_step', 'rerun_step'))
    report = {
        'benchmark': 'bench_plan',
        'case': 'every other port 1025-65535 (%d ports, %d bytes as a kernel value), range %d-%d'
                % (len(desired), len(_ports.format_ports(desired)) + 1, RANGE[0], RANGE[1]),
        'python': platform.python_version(),
        'loadavg_at_start': [round(x, 2) for x in load],
        'cpus': os.cpu_count(),
        'machine': platform.machine(),
        'repeat': args.repeat,
        'number': args.number,
        'target_ms': args.target_ms,
        'results': results,
        'warnings_in_plan': len(first.warnings),
        'within_target': ok,
    }
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
