# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run part "scale" of make bench: time the role's controller-side work against one set_fact per host, at N hosts.

Used by bench/run_bench.py (BENCH_PARTS=scale).  Nothing connects anywhere and
nothing is applied: every host is ``ansible_connection=local``, the role runs
with ``--tags reserved_ports_validate`` (its validation, plus the argument spec
check, which Ansible tags ``always``), gather_facts false, report off.

For each N the inventory is generated in the work directory:

* group ``bench_tier_a`` / ``bench_tier_b`` (host index even / odd) sets
  ``reserved_ports_services_web``: two entries;
* group ``bench_zone_0`` .. ``bench_zone_4`` (host index modulo 5) sets
  ``reserved_ports_services_app``: two entries, one of them templated from the
  host's own ``bench_app_port``;
* each host has inline vars ``bench_app_port`` (different on every host) and
  ``bench_index``.

So every host has four service entries from two ``reserved_ports_services_*``
group variables, one of them different on every host.

Three commands: the floor, the role, and the role without ansible-core's
argument-spec task (``own``: ``--skip-tags always``, the role's own cost).
Per N, ``reps`` repetitions, alternated: floor, role, own on odd repetitions,
the reverse on even ones (a slow drift of the machine's load then weighs on
all).  Peak memory: the process tree of ansible-playbook (the main process and
its forked workers) is sampled from /proc every 0.2 s; the peak of the sum of
RSS over the tree is reported (shared copy-on-write pages of the forks are
counted once per process, so this over-counts), and the peak of the sum of PSS
(smaps_rollup: shared pages divided among their users) next to it.  cgroup v1
hosts have no memory.peak, and a transient cgroup would need systemd.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time

from bench_common import command_text, write_ansible_cfg  # bench/bench_common.py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scripts'))
from portguard_tools.playbook import playbook_argv  # noqa: E402  pylint: disable=wrong-import-position,import-error

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, 'bench')
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
COLLECTIONS = os.path.join(REPO, '.cache', 'collections')
SAMPLE_S = 0.2
SAMPLE_COST_MS = 1.0  # measured: about 1 ms per sample of a 6-process tree
DEFAULT_HOSTS = (100, 1000, 3000, 10000)

RECAP_RE = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)')

TIERS = {
    'bench_tier_a': [{'name': 'web', 'port': 8080}, {'name': 'metrics', 'port': 9100}],
    'bench_tier_b': [{'name': 'web', 'port': 8443, 'protocol': 'tcp'}, {'name': 'metrics', 'port': 9200, 'note': 'tier b'}],
}
ZONES = 5
ABSENT_NETNS = '/run/netns/portguard-bench-absent'


class ScaleError(Exception):
    pass


def default_reps(hosts):
    return 1 if hosts >= 3000 else 3


def host_name(index):
    return 'h%05d' % index


def write_inventory(directory, hosts):
    """Inventory of ``hosts`` synthetic local hosts (JSON, which is YAML); returns its path."""
    names = [host_name(i) for i in range(hosts)]
    children = {}
    for tier, services in TIERS.items():
        parity = 0 if tier.endswith('_a') else 1
        children[tier] = {
            'hosts': {n: None for i, n in enumerate(names) if i % 2 == parity},
            'vars': {'reserved_ports_services_web': services},
        }
    for zone in range(ZONES):
        children['bench_zone_%d' % zone] = {
            'hosts': {n: None for i, n in enumerate(names) if i % ZONES == zone},
            'vars': {'reserved_ports_services_app': [
                {'name': 'app', 'port': '{{ bench_app_port }}'},
                {'name': 'cache', 'ports': ['%d-%d' % (40000 + 10 * zone, 40000 + 10 * zone + 3)], 'protocol': 'both'},
            ]},
        }
    inventory = {'all': {
        'hosts': {n: {'bench_index': i, 'bench_app_port': 20000 + i % 10000} for i, n in enumerate(names)},
        # reserved_ports_netns: a namespace that does not exist, so that a run that applied by mistake (a tag
        # carried onto every task by import_role, say) fails on every host and never writes this machine's own.
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': os.path.join(VENV_BIN, 'python'),
                 'reserved_ports_report': '', 'reserved_ports_netns': ABSENT_NETNS},
        'children': children,
    }}
    path = os.path.join(directory, 'inventory.yml')
    with open(path, 'w') as handle:
        json.dump(inventory, handle)
    return path


def write_cfg(directory, forks):
    path = os.path.join(directory, 'ansible.cfg')
    write_ansible_cfg(path, '# Written by bench/part_scale.py; the same settings for the role and the floor.', forks)
    return path


def commands(inv):
    return {
        'floor': playbook_argv(os.path.join(BENCH, 'playbooks', 'scale_floor.yml'), [inv]),
        'role': playbook_argv(os.path.join(BENCH, 'playbooks', 'scale_role.yml'), [inv], args=['--tags', 'reserved_ports_validate']),
        # The role's own part: the same run without ansible-core's argument-spec task (tagged always).
        'own': playbook_argv(os.path.join(BENCH, 'playbooks', 'scale_role.yml'), [inv],
                             args=['--tags', 'reserved_ports_validate', '--skip-tags', 'always']),
    }


KINDS = ('floor', 'role', 'own')


def _children(pid):
    """Children of every thread of pid (/proc/PID/task/TID/children), or [] when it is gone."""
    kids = []
    try:
        tids = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return kids
    for tid in tids:
        try:
            with open('/proc/%d/task/%s/children' % (pid, tid)) as handle:
                kids.extend(int(x) for x in handle.read().split())
        except (OSError, ValueError):
            continue
    return kids


def _tree(root):
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(_children(pid))
    return out


def _rss_pss_kib(pid):
    try:
        with open('/proc/%d/smaps_rollup' % pid) as handle:
            rss = pss = 0
            for line in handle:
                if line.startswith('Rss:'):
                    rss = int(line.split()[1])
                elif line.startswith('Pss:'):
                    pss = int(line.split()[1])
            return rss, pss
    except (OSError, ValueError, IndexError):
        return 0, 0


class TreeSampler(threading.Thread):
    """Peak of sum(RSS) and sum(PSS) over a process tree, sampled every SAMPLE_S seconds."""

    def __init__(self, pid):
        super(TreeSampler, self).__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.peak_rss_kib = self.peak_pss_kib = self.max_procs = self.samples = 0

    def run(self):
        while not self.stop.is_set():
            rss = pss = 0
            pids = _tree(self.pid)
            for pid in pids:
                one_rss, one_pss = _rss_pss_kib(pid)
                rss += one_rss
                pss += one_pss
            self.peak_rss_kib = max(self.peak_rss_kib, rss)
            self.peak_pss_kib = max(self.peak_pss_kib, pss)
            self.max_procs = max(self.max_procs, len(pids))
            self.samples += 1
            self.stop.wait(SAMPLE_S)


def check(kind, rc, output, hosts):
    if rc != 0:
        raise ScaleError('%s: rc %d' % (kind, rc))
    recap = {}
    for line in output.splitlines():
        match = RECAP_RE.match(line)
        if match:
            recap[match.group(1)] = tuple(int(x) for x in match.groups()[1:])
    # own: only the host that ran the validation (run_once) appears in the recap.
    if len(recap) != (1 if kind == 'own' else hosts):
        raise ScaleError('%s: %d hosts in the recap, expected %d' % (kind, len(recap), hosts))
    bad = [h for h, (_ok, changed, unreachable, failed, _skipped) in recap.items() if changed or unreachable or failed]
    if bad:
        raise ScaleError('%s: changed, unreachable or failed on %d hosts, e.g. %s %s' % (kind, len(bad), bad[0], recap[bad[0]]))
    shapes = sorted({(ok, skipped) for ok, _c, _u, _f, skipped in recap.values()})
    # floor: a set_fact on every host; role: the argument-spec check on every host and the
    # validation once (run_once: one host counts it); own: the validation once, nothing else.
    oks = sorted(ok for ok, _c, _u, _f, _s in recap.values())
    want = {'floor': [1] * hosts, 'role': [1] * (hosts - 1) + [2], 'own': [1]}[kind]
    if oks != want:
        raise ScaleError('%s: tasks per host (ok/skipped) %s, expected ok %s' % (
            kind, shapes, sorted(set(want))))
    return {'tasks_per_host_ok_skipped': shapes}


def run_one(kind, argv, env, logdir, hosts, rep, log):
    logfile = os.path.join(logdir, 'scale-%d-%s-%d.log' % (hosts, kind, rep))
    with open('/proc/loadavg') as handle:
        load = float(handle.read().split()[0])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = usage.ru_utime + usage.ru_stime
    with open(logfile, 'w') as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=logdir)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        rc = proc.wait()
        wall = time.perf_counter() - start
        sampler.stop.set()
        sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    with open(logfile) as handle:
        output = handle.read()
    try:
        summary = check(kind, rc, output, hosts)
    except ScaleError as exc:
        raise ScaleError('%s (log: %s)' % (exc, logfile))
    result = {'rep': rep, 'wall_s': round(wall, 3), 'controller_cpu_s': round(cpu, 3), 'loadavg_1m_before': load,
              'peak_tree_rss_mb': round(sampler.peak_rss_kib / 1024.0, 1),
              'peak_tree_pss_mb': round(sampler.peak_pss_kib / 1024.0, 1),
              'max_processes': sampler.max_procs, 'memory_samples': sampler.samples,
              'check': summary, 'log': os.path.relpath(logfile, REPO)}
    log('scale %5d hosts rep %d %-5s %8.2f s wall (%.4f s/host), %7.2f s CPU, tree RSS %.0f MB / PSS %.0f MB, load %.1f'
        % (hosts, rep, kind, wall, wall / hosts, cpu, result['peak_tree_rss_mb'], result['peak_tree_pss_mb'], load))
    return result


def base_env(cfg):
    env = dict(os.environ)
    for key in list(env):
        if key.startswith('ANSIBLE_'):
            del env[key]
    env.update({'ANSIBLE_CONFIG': cfg, 'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS, 'ANSIBLE_NOCOLOR': '1',
                'ANSIBLE_FORCE_COLOR': '0', 'PYTHONDONTWRITEBYTECODE': '1'})
    return env


def run(workdir, hosts_list, reps_list, forks, log):
    """All N, alternated per N; returns the results.json keys of this part."""
    if os.path.lexists(ABSENT_NETNS):
        raise ScaleError('%s exists: the scale part relies on it being absent (so that a mistaken apply fails '
                         'instead of writing this machine\'s own namespace); remove it or pick another name' % ABSENT_NETNS)
    raw = {}
    runs_cmds = {}
    for hosts, reps in zip(hosts_list, reps_list):
        directory = os.path.join(workdir, 'scale-%d' % hosts)
        logdir = os.path.join(directory, 'logs')
        os.makedirs(logdir, exist_ok=True)
        inv = write_inventory(directory, hosts)
        env = base_env(write_cfg(directory, forks))
        cmds = commands(inv)
        runs_cmds = cmds
        raw[str(hosts)] = dict((kind, []) for kind in KINDS)
        for rep in range(1, reps + 1):
            order = KINDS if rep % 2 else tuple(reversed(KINDS))
            for kind in order:
                raw[str(hosts)][kind].append(run_one(kind, cmds[kind], env, logdir, hosts, rep, log))
    return summarize(raw, hosts_list, reps_list, forks, runs_cmds)


def peak(raw, kind, field):
    """{N: the largest ``field`` over the runs of ``kind``} (N as results.json keys it)."""
    return dict((key, max(r[field] for r in kinds[kind])) for key, kinds in raw.items() if kinds.get(kind))


def summarize(raw, hosts_list, reps_list, forks, cmds):
    med = {}
    for key, kinds in raw.items():
        med[key] = {kind: round(statistics.median(r['wall_s'] for r in runs), 3) for kind, runs in kinds.items()}
    ratio = {key: round(m['role'] / m['floor'], 2) for key, m in med.items()}
    own_ratio = {key: round(m['own'] / m['floor'], 2) for key, m in med.items() if 'own' in m}
    largest = str(max(hosts_list))
    # The growth compares the largest N with 1,000 hosts; a run without 1,000
    # (or with 1,000 as its largest N) compares with its smallest N.
    ref = '1000' if '1000' in ratio and largest != '1000' else str(min(hosts_list))
    growth = round(ratio[largest] / ratio[ref], 2) if largest != ref else None
    return {
        'scale_hosts': list(hosts_list),
        'scale_role_over_floor': ratio,
        'scale_growth': growth,
        'scale_growth_reference_hosts': int(ref),
        # Without ansible-core's argument-spec task (--skip-tags always): the role's own controller cost.
        'scale_own_over_floor': own_ratio,
        'scale_own_s': {key: m['own'] for key, m in med.items() if 'own' in m},
        'scale_peak_rss_mb': peak(raw, 'role', 'peak_tree_rss_mb'),
        'scale_peak_pss_mb': peak(raw, 'role', 'peak_tree_pss_mb'),
        'scale_floor_peak_rss_mb': peak(raw, 'floor', 'peak_tree_rss_mb'),
        'scale_floor_peak_pss_mb': peak(raw, 'floor', 'peak_tree_pss_mb'),
        'scale_own_peak_rss_mb': peak(raw, 'own', 'peak_tree_rss_mb'),
        # Peak memory of the role's tree over the floor's, per N (the same sampling for both).
        'scale_rss_over_floor': dict((key, round(peak(raw, 'role', 'peak_tree_rss_mb')[key] /
                                                 peak(raw, 'floor', 'peak_tree_rss_mb')[key], 2)) for key in raw),
        'scale_pss_over_floor': dict((key, round(peak(raw, 'role', 'peak_tree_pss_mb')[key] /
                                                 peak(raw, 'floor', 'peak_tree_pss_mb')[key], 2)) for key in raw),
        # The highest 1-minute load average before any run of that N (other work on the machine).
        'scale_load_1m_max': dict((key, max(r['loadavg_1m_before'] for runs in kinds.values() for r in runs))
                                  for key, kinds in raw.items()),
        'scale_role_s': {key: m['role'] for key, m in med.items()},
        'scale_floor_s': {key: m['floor'] for key, m in med.items()},
        'scale': {
            'forks': forks,
            'repetitions': {str(h): r for h, r in zip(hosts_list, reps_list)},
            'raw': raw,
            'commands': {k: command_text(v) for k, v in cmds.items()},
            'inventory': 'ansible_connection=local, gather_facts false, report off; groups bench_tier_a/b (host index '
                         'even/odd) set reserved_ports_services_web (2 entries), groups bench_zone_0..4 (index mod 5) '
                         'set reserved_ports_services_app (2 entries, one templated from the host\'s inline '
                         'bench_app_port = 20000 + index mod 10000): four service entries per host',
            'order': 'per N, per repetition: floor, role, own on odd repetitions, own, role, floor on even ones',
            'timing': 'wall clock of the whole ansible-playbook process, start-up and inventory parsing included; '
                      'controller_cpu_s = user+system CPU of the process and its forks',
            'memory': 'peak over samples every %.1f s of the sum over the ansible-playbook process tree (main process '
                      'and forked workers) of RSS (scale_peak_rss_mb; shared copy-on-write pages count once per '
                      'process) and of PSS (scale_peak_pss_mb), from /proc/PID/smaps_rollup; the tree is followed '
                      'through /proc/PID/task/TID/children; one sample costs the bench about %.1f ms of CPU, on the '
                      'floor\'s runs and the role\'s alike' % (SAMPLE_S, SAMPLE_COST_MS),
        },
    }
