# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the parts of make bench (podman, ssh, scale) and write bench/results.json: the reserved_ports role against Ansible's floor.

Called by scripts/bench.sh, which starts the containers (and removes them on
exit) and passes their names.  ``--parts`` selects what runs (podman, ssh,
scale, info); the keys of parts not run are kept from an existing ``--out`` file
(unless ``--fresh``), and each part's date is in ``parts``.

Part "podman" (``--containers``):

1. writes an inventory (podman connection, system Python) and an ansible.cfg
   with an explicit ``forks`` into the work directory;
2. runs, alternating, ``--reps`` repetitions of
     floor       ansible all -m ansible.builtin.ping
     role_first  the role after resetting every container (kernel defaults, no persisted file)
     role_rerun  the role again (nothing to change)
     baseline    bench/baseline (facts + ansible.posix.sysctl per key, reload) after a reset
   timing each whole command (wall clock, and CPU of the controller's child processes) and
   checking its PLAY RECAP (role_first changed every host, role_rerun none, ...);
3. one untimed profiling pass of the same four commands with -vvv and
   ansible.posix.profile_tasks: tasks, module runs and podman calls per host, time per task;
4. the modules' peak memory on a target: the worst-case input is run once with
   ANSIBLE_KEEP_REMOTE_FILES=1, then the kept AnsiballZ payloads are re-run in that
   container under a getrusage(RUSAGE_CHILDREN) wrapper (first run after a reset, then a rerun);
5. bench/bench_plan.py and bench/bench_info.py (their JSON is kept as is).

Part "ssh" (``--ssh-containers NAME=PORT,...``, ``--ssh-key``): for each N of
``--ssh-hosts``, the first N sshd containers (sshd published on 127.0.0.1:PORT),
an inventory with key auth and an ansible.cfg with pipelining and ControlPersist;
one untimed ping, then ``--ssh-reps`` repetitions of floor (ping), role_first
(after a reset) and role_rerun.  Each run gets its own ControlPath directory and
its masters are closed after it (so each run opens one connection per host, as
separate runs minutes apart do); a run must leave one master per host.

Part "scale": bench/part_scale.py (the role's --tags reserved_ports_validate
against one set_fact per host at N synthetic local hosts).

Part "info": bench/bench_info.py alone (the podman part's step 5 runs it too),
for a quick measurement of the 50,000-socket audit and its ``pressure``; no
container.  Its keys replace the info keys and ``micro.bench_info`` only.

Then the targets of every part in results.json are (re)computed and the file is
written.  Every write to /proc/sys happens through ``podman exec`` in a
container whose network namespace is checked against the controller's first;
the helper refuses to write when they are equal.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import part_scale  # bench/part_scale.py, next to this file (it puts scripts/ on sys.path)
from bench_common import command_text, write_ansible_cfg  # bench/bench_common.py
from bench_targets import compute_targets  # bench/bench_targets.py
from portguard_tools.playbook import playbook_argv, tool  # scripts/portguard_tools  pylint: disable=import-error

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, 'bench')
COLLECTIONS = os.path.join(REPO, '.cache', 'collections')
VENV_BIN = os.path.join(REPO, '.venv', 'bin')

SERVICES = [
    {'name': 'web', 'port': 8080},
    {'name': 'metrics', 'port': 9100},
    {'name': 'app', 'port': 35000},
    {'name': 'cache', 'port': 40000},
    {'name': 'queue', 'port': '50000-50009'},
]
RANGE = '16384 60999'
EXPECTED_RESERVED = '8080,9100,35000,40000,50000-50009'
EXPECTED_RANGE = '16384\t60999'
DEFAULT_RESERVED = ''
DEFAULT_RANGE = '32768\t60999'
ROLE_FILE = '/etc/sysctl.d/zz-portguard-ephemeral.conf'
BASELINE_FILE = '/etc/sysctl.d/60-bench-baseline.conf'
KINDS = ('floor', 'role_first', 'role_rerun', 'baseline')
# Diagnostics, run right after role_rerun (nothing to change): where the role's time goes.
VARIANTS = ('role_no_audit', 'module_only')

# The start of every script run inside a container (python3 - HOST_NETNS ...), after
# its imports (json, os, sys at least): refuse (exit 3) in the controller's namespace.
# No newline at its end: the script goes on with r'''\n...'''.
NETNS_GUARD = r'''host = sys.argv[1]
mine = os.readlink('/proc/self/ns/net')
if not host.startswith('net:[') or mine == host:
    print(json.dumps({'error': 'refusing: namespace %s is the controller\'s (%s)' % (mine, host)}))
    sys.exit(3)'''

# Runs inside a container (python3 - HOST_NETNS): check the namespace, read both
# keys, put them back to the kernel defaults, remove what the role and the
# baseline persisted, read back.  Refuses (exit 3) in the controller's namespace.
RESET_SCRIPT = r'''
import json, os, shutil, sys
''' + NETNS_GUARD + r'''
RES = '/proc/sys/net/ipv4/ip_local_reserved_ports'
RNG = '/proc/sys/net/ipv4/ip_local_port_range'
def read(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1 << 20).decode().rstrip('\n')
    finally:
        os.close(fd)
def write(path, value):
    if os.readlink('/proc/self/ns/net') == host:
        sys.exit(3)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)
before = {'reserved': read(RES), 'range': read(RNG)}
files = {}
for path in sys.argv[2:]:
    files[path] = os.path.lexists(path)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
write(RES, '\n')
write(RNG, '32768 60999')
after = {'reserved': read(RES), 'range': read(RNG)}
print(json.dumps({'netns': mine, 'before': before, 'files_before': files, 'after': after}))
'''

# Runs inside a container (python3 - HOST_NETNS ARGV...): run ARGV as a child and
# report the child's peak RSS (ru_maxrss of RUSAGE_CHILDREN, KiB on Linux).
RSS_SCRIPT = r'''
import json, os, resource, subprocess, sys, time
''' + NETNS_GUARD + r'''
start = time.perf_counter()
proc = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
out = proc.stdout.decode(errors='replace')
try:
    result = json.loads(out[out.index('{'):])
    summary = {k: result.get(k) for k in ('changed', 'failed', 'msg', 'live_changed', 'file_changed', 'persisted_file')}
    if isinstance(result.get('reserved'), dict):
        after = result['reserved'].get('after') or ''
        summary['reserved_after_bytes'] = len(after.get('canonical', '') if isinstance(after, dict) else str(after))
except ValueError:
    summary = {'unparsed_stdout': out[-2000:]}
print(json.dumps({'rc': proc.returncode, 'maxrss_kib': usage.ru_maxrss, 'wall_s': round(wall, 3),
                  'cpu_s': round(usage.ru_utime + usage.ru_stime, 3), 'stderr': proc.stderr.decode(errors='replace')[-2000:],
                  'result': summary, 'stdout_bytes': len(out)}))
'''

RECAP_RE = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)')
PING_RE = re.compile(r'^(\S+) \| (SUCCESS|CHANGED|FAILED!|UNREACHABLE!)')
PODMAN_RE = re.compile(r"^<([^>]+)> RUN \[b'[^']*podman', b'([a-z]+)'(.*)$")
PROFILE_RE = re.compile(r'^(.+?) -+ (\d+\.\d+)s\s*$')


class BenchError(Exception):
    pass


def log(msg):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def loadavg():
    with open('/proc/loadavg') as handle:
        return [float(x) for x in handle.read().split()[:3]]


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def podman(args, stdin=None, check=True):
    proc = subprocess.run(['podman'] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    if check and proc.returncode != 0:
        raise BenchError('podman %s failed (rc %d): %s' % (' '.join(args[:3]), proc.returncode, proc.stderr.strip()))
    return proc


def in_container(name, script, args):
    proc = podman(['exec', '-i', name, '/usr/bin/python3', '-', HOST_NETNS] + args, stdin=script, check=False)
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError('%s: helper failed (rc %d): %s %s' % (name, proc.returncode, proc.stdout[-500:], proc.stderr[-500:]))
    if proc.returncode != 0 or 'error' in data:
        raise BenchError('%s: helper refused or failed (rc %d): %s' % (name, proc.returncode, data))
    return data


HOST_NETNS = os.readlink('/proc/self/ns/net')


def reset_all(containers, expect=None):
    """Kernel defaults and no persisted state in every container, in parallel; returns what was found."""
    def one(name):
        data = in_container(name, RESET_SCRIPT, [ROLE_FILE, BASELINE_FILE, '/run/portguard-ephemeral'])
        if data['after'] != {'reserved': DEFAULT_RESERVED, 'range': DEFAULT_RANGE}:
            raise BenchError('%s: reset did not take: %s' % (name, data['after']))
        if expect is not None and data['before'] != expect:
            raise BenchError('%s: before the reset the values were %s, expected %s' % (name, data['before'], expect))
        return data
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, containers))


def write_inventory(workdir, containers, forks):
    inventory = {
        'all': {
            'children': {
                'bench': {
                    'hosts': {name: {} for name in containers},
                    'vars': {
                        'ansible_connection': 'containers.podman.podman',
                        'ansible_python_interpreter': '/usr/bin/python3',
                        'reserved_ports_services': SERVICES,
                        'reserved_ports_range': RANGE,
                    },
                },
            },
        },
    }
    inv = os.path.join(workdir, 'inventory.yml')
    with open(inv, 'w') as handle:
        json.dump(inventory, handle, indent=2)  # JSON is YAML
    cfg = os.path.join(workdir, 'ansible.cfg')
    write_ansible_cfg(cfg, '# Written by bench/run_bench.py; the same settings for all four commands.', forks,
                      defaults=['roles_path = %s' % os.path.join(BENCH, 'baseline', 'roles')])
    return inv, cfg


def commands(inv):
    role = os.path.join(BENCH, 'playbooks', 'role.yml')
    return {
        'floor': [tool('ansible'), '-i', inv, 'all', '-m', 'ansible.builtin.ping'],
        'role_first': playbook_argv(role, [inv]),
        'role_rerun': playbook_argv(role, [inv]),
        'role_no_audit': playbook_argv(role, [inv], args=['--skip-tags', 'reserved_ports_audit']),
        'module_only': playbook_argv(os.path.join(BENCH, 'playbooks', 'module_only.yml'), [inv]),
        'baseline': playbook_argv(os.path.join(BENCH, 'baseline', 'site.yml'), [inv]),
    }


def base_env(cfg):
    env = dict(os.environ)
    for key in list(env):
        if key.startswith('ANSIBLE_') and key != 'ANSIBLE_COLLECTIONS_PATH':
            del env[key]
    env.update({
        'ANSIBLE_CONFIG': cfg,
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'PYTHONDONTWRITEBYTECODE': '1',
    })
    return env


def parse_recap(output):
    recap = {}
    for line in output.splitlines():
        match = RECAP_RE.match(line)
        if match:
            keys = ('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored')
            recap[match.group(1)] = dict(zip(keys, (int(x) for x in match.groups()[1:])))
    return recap


def check_run(kind, proc_rc, output, containers):
    """Fail unless the run did what its name says on every host; returns a per-host summary."""
    if proc_rc != 0:
        raise BenchError('%s: rc %d' % (kind, proc_rc))
    if kind == 'floor':
        states = {}
        for line in output.splitlines():
            match = PING_RE.match(line)
            if match:
                states[match.group(1)] = match.group(2)
        bad = [c for c in containers if states.get(c) != 'SUCCESS']
        if bad:
            raise BenchError('floor: no SUCCESS from %s' % bad)
        return {'hosts_ok': len(states)}
    recap = parse_recap(output)
    missing = [c for c in containers if c not in recap]
    if missing:
        raise BenchError('%s: no recap for %s' % (kind, missing))
    want_changed = {'role_first': 1, 'role_rerun': 0, 'baseline': 2, 'role_no_audit': 0, 'module_only': 0}[kind]
    for name in containers:
        row = recap[name]
        if row['failed'] or row['unreachable']:
            raise BenchError('%s: %s failed: %s' % (kind, name, row))
        if row['changed'] != want_changed:
            raise BenchError('%s: %s changed=%d, expected %d' % (kind, name, row['changed'], want_changed))
    return {'changed_per_host': want_changed, 'tasks_per_host_ok_changed_skipped':
            sorted({(r['ok'], r['changed'], r['skipped']) for r in recap.values()})}


def run_one(kind, argv, env, logdir, rep, containers, extra_env=None, tag=''):
    run_env = dict(env)
    if extra_env:
        run_env.update(extra_env)
    logfile = os.path.join(logdir, '%s-%s%s.log' % (kind, rep, tag))
    load = loadavg()
    cpu0 = children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=run_env, cwd=logdir,
                          universal_newlines=True, check=False)
    wall = time.perf_counter() - start
    cpu = children_cpu() - cpu0
    with open(logfile, 'w') as handle:
        handle.write(proc.stdout)
    try:
        summary = check_run(kind, proc.returncode, proc.stdout, containers)
    except BenchError as exc:
        raise BenchError('%s (log: %s)' % (exc, logfile))
    return {'wall_s': round(wall, 3), 'controller_cpu_s': round(cpu, 3), 'loadavg_1m_before': load[0],
            'check': summary, 'log': os.path.relpath(logfile, REPO)}, proc.stdout


def run_order(variants):
    order = []
    for kind in KINDS:
        order.append(kind)
        if kind == 'role_rerun':
            order.extend(variants)
    return order


def timed_runs(containers, cmds, env, logdir, reps, variants):
    order = run_order(variants)
    raw = {kind: [] for kind in order}
    expected_state = {'reserved': EXPECTED_RESERVED, 'range': EXPECTED_RANGE}
    reset_all(containers)
    last = None  # what the previous command left in the containers
    for rep in range(1, reps + 1):
        for kind in order:
            if kind in ('role_first', 'baseline'):
                # Also proves the previous role or baseline run left the expected values.
                reset_all(containers, expect=expected_state if last else None)
            result, _out = run_one(kind, cmds[kind], env, logdir, rep, containers)
            result['rep'] = rep
            raw[kind].append(result)
            log('rep %d %-10s %7.2f s wall, %6.2f s controller CPU, load %.1f'
                % (rep, kind, result['wall_s'], result['controller_cpu_s'], result['loadavg_1m_before']))
            if kind != 'floor':
                last = kind
    # After the last baseline run every container must hold the values it set.
    reset_all(containers, expect=expected_state)
    return raw


def profile_pass(containers, cmds, env, logdir, variants):
    """Untimed: each command once with -vvv and profile_tasks on ``containers``; counts per host and time per task."""
    extra = {'ANSIBLE_CALLBACKS_ENABLED': 'ansible.posix.profile_tasks', 'PROFILE_TASKS_TASK_OUTPUT_LIMIT': '40'}
    shape = {}
    for kind in run_order(variants):
        if kind in ('role_first', 'baseline'):
            reset_all(containers)
        argv = cmds[kind] + ['-vvv', '--limit', ','.join(containers)]
        result, output = run_one(kind, argv, env, logdir, 'profile', containers, extra_env=extra)
        per_host = {name: {} for name in containers}
        for line in output.splitlines():
            match = PODMAN_RE.match(line)
            if match and match.group(1) in per_host:
                sub = match.group(2)
                if sub == 'exec':
                    rest = match.group(3)
                    if 'AnsiballZ_' in rest and 'python' in rest:
                        sub = 'exec_module'
                    elif 'chmod' in rest:
                        sub = 'exec_chmod'
                    elif 'mkdir' in rest:
                        sub = 'exec_mkdir'
                    elif 'rm -f -r' in rest or 'rm -rf' in rest:
                        sub = 'exec_rm'
                    elif 'echo ~' in rest:
                        sub = 'exec_home'
                per_host[match.group(1)][sub] = per_host[match.group(1)].get(sub, 0) + 1
        counts = {}
        for row in per_host.values():
            for key, value in row.items():
                counts.setdefault(key, []).append(value)
        podman_calls = {key: round(statistics.mean(values), 2) for key, values in sorted(counts.items())}
        tasks = {}
        in_recap = False
        for line in output.splitlines():
            if line.startswith('TASKS RECAP') or line.startswith('PLAY RECAP'):
                in_recap = line.startswith('TASKS RECAP')
                continue
            if in_recap:
                match = PROFILE_RE.match(line)
                if match:
                    tasks[match.group(1).strip()] = float(match.group(2))
        recap = parse_recap(output)
        task_rows = sorted({(r['ok'], r['changed'], r['skipped']) for r in recap.values()})
        shape[kind] = {
            'hosts': len(containers),
            'wall_s_with_vvv': result['wall_s'],
            'module_runs_per_host': podman_calls.get('exec_module', 0),
            'podman_calls_per_host': podman_calls,
            'podman_calls_per_host_total': round(sum(podman_calls.values()), 2),
            'recap_ok_changed_skipped': task_rows,
            'task_seconds': tasks,
            'log': result['log'],
        }
        log('profile %-10s %d module runs/host, %.1f podman calls/host' % (
            kind, shape[kind]['module_runs_per_host'], shape[kind]['podman_calls_per_host_total']))
    return shape


def module_memory(container, env, logdir):
    """Peak RSS of local_ports (worst case, first run and rerun) and local_ports_info on one target."""
    reset_all([container])
    keep_env = {'ANSIBLE_KEEP_REMOTE_FILES': '1'}
    argv = playbook_argv(os.path.join(BENCH, 'playbooks', 'worst_case.yml'), [env['BENCH_INVENTORY']],
                         args=['--limit', container])
    logfile = os.path.join(logdir, 'worst_case.log')
    run_env = dict(env)
    run_env.update(keep_env)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=run_env, universal_newlines=True, cwd=logdir, check=False)
    with open(logfile, 'w') as handle:
        handle.write(proc.stdout)
    recap = parse_recap(proc.stdout).get(container)
    if proc.returncode != 0 or not recap or recap['changed'] != 1:
        raise BenchError('worst case playbook: rc %d, recap %s (log %s)' % (proc.returncode, recap, logfile))
    found = podman(['exec', container, 'find', '/root/.ansible/tmp', '-name', 'AnsiballZ_*.py']).stdout.split()

    def created(path):  # .../ansible-tmp-<epoch>-<pid>-<random>/AnsiballZ_x.py
        return float(path.split('/ansible-tmp-', 1)[1].split('-', 1)[0])
    found.sort(key=created)
    names = [os.path.basename(path)[len('AnsiballZ_'):-3] for path in found]
    if names != ['ping', 'local_ports', 'local_ports_info', 'local_ports_info']:
        raise BenchError('kept payloads not as expected: %s' % found)
    payloads = dict(zip(('ping', 'local_ports', 'info_services', 'info_all_ports'), found))
    worst_bytes = len(','.join(str(p) for p in range(1025, 65536, 2)))
    reset_all([container])
    out = {}
    out['local_ports_first'] = in_container(container, RSS_SCRIPT, ['/usr/bin/python3', payloads['local_ports']])
    out['local_ports_rerun'] = in_container(container, RSS_SCRIPT, ['/usr/bin/python3', payloads['local_ports']])
    out['local_ports_info'] = in_container(container, RSS_SCRIPT, ['/usr/bin/python3', payloads['info_services']])
    out['local_ports_info_all_ports'] = in_container(container, RSS_SCRIPT, ['/usr/bin/python3', payloads['info_all_ports']])
    out['ping'] = in_container(container, RSS_SCRIPT, ['/usr/bin/python3', payloads['ping']])
    out['python_startup'] = in_container(container, RSS_SCRIPT, ['/usr/bin/python3', '-c', 'import json'])
    first, rerun = out['local_ports_first'], out['local_ports_rerun']
    problems = []
    if first['rc'] != 0 or first['result'].get('failed') or first['result'].get('changed') is not True:
        problems.append('first run did not change: %s' % first)
    if rerun['rc'] != 0 or rerun['result'].get('failed') or rerun['result'].get('changed') is not False:
        problems.append('rerun changed or failed: %s' % rerun)
    for key in ('local_ports_info', 'local_ports_info_all_ports', 'ping'):
        if out[key]['rc'] != 0 or out[key]['result'].get('failed'):
            problems.append('%s failed: %s' % (key, out[key]))
    state = in_container(container, RESET_SCRIPT, [ROLE_FILE, '/run/portguard-ephemeral'])
    if len(state['before']['reserved']) + 1 != worst_bytes + 1 or not state['files_before'].get(ROLE_FILE):
        problems.append('after the worst-case run the live value was %d bytes (expected %d) / file %s'
                        % (len(state['before']['reserved']), worst_bytes, state['files_before']))
    podman(['exec', container, 'rm', '-rf', '/root/.ansible/tmp'])
    if problems:
        raise BenchError('module memory: ' + '; '.join(problems))
    for item in out.values():
        item['maxrss_mb'] = round(item['maxrss_kib'] / 1024.0, 1)
    return {
        'method': 'ANSIBLE_KEEP_REMOTE_FILES=1 run of bench/playbooks/worst_case.yml, then each kept AnsiballZ payload '
                  're-run with /usr/bin/python3 inside the container (after a reset, so the first run really writes); '
                  'peak RSS = ru_maxrss of RUSAGE_CHILDREN of a wrapper process (the whole module process: '
                  'interpreter, AnsiballZ unpacking, module)',
        'input': 'reserved = every other port 1025-65535 (32256 ports, %d bytes as a kernel value), persist: true' % worst_bytes,
        'runs': out,
    }


def run_micro(argv, name, logdir):
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, cwd=REPO, check=False)
    wall = time.perf_counter() - start
    with open(os.path.join(logdir, name + '.log'), 'w') as handle:
        handle.write(proc.stdout + '\n--- stderr ---\n' + proc.stderr)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = None
    log('%s: rc %d in %.1f s' % (name, proc.returncode, wall))
    return {'rc': proc.returncode, 'wall_s': round(wall, 1), 'output': data,
            'stderr_tail': proc.stderr[-1500:] if proc.returncode or data is None else ''}


def machine_info():
    info = {'kernel': platform.release(), 'python_controller': platform.python_version(), 'cpus': os.cpu_count()}
    try:
        with open('/proc/cpuinfo') as handle:
            models = [line.split(':', 1)[1].strip() for line in handle if line.startswith('model name')]
        info['cpu_model'] = models[0] if models else platform.processor()
    except OSError:
        pass
    try:
        with open('/proc/meminfo') as handle:
            info['memory_gib'] = round(int(handle.readline().split()[1]) / 1024.0 / 1024.0, 1)
    except OSError:
        pass
    try:
        with open('/etc/os-release') as handle:
            info['os'] = dict(line.rstrip().split('=', 1) for line in handle if '=' in line).get('PRETTY_NAME', '').strip('"')
    except OSError:
        pass
    info['podman'] = podman(['--version']).stdout.strip()
    version = subprocess.run([os.path.join(VENV_BIN, 'ansible'), '--version'], stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout
    match = re.search(r'core ([0-9][^\]\s]*)', version or '')
    info['ansible_core'] = match.group(1) if match else 'unknown'
    pip = subprocess.run([os.path.join(VENV_BIN, 'python'), '-c',
                          'import importlib.metadata as m; print(m.version("ansible"))'],
                         stdout=subprocess.PIPE, universal_newlines=True, check=False)
    info['ansible_package'] = pip.stdout.strip() or None
    info['image'] = podman(['image', 'inspect', '-f', '{{.Id}}', os.environ.get('BENCH_IMAGE', '')], check=False).stdout.strip()[:12]
    info['cgroup'] = 'v2' if os.path.exists('/sys/fs/cgroup/cgroup.controllers') else 'v1'
    return info


def median(values):
    return round(statistics.median(values), 3)


def summarize(raw, hosts):
    out = {}
    for kind in raw:
        walls = [r['wall_s'] for r in raw[kind]]
        cpus = [r['controller_cpu_s'] for r in raw[kind]]
        out[kind] = {'median_s': median(walls), 'min_s': min(walls), 'max_s': max(walls),
                     'per_host_s': round(statistics.median(walls) / hosts, 3),
                     'controller_cpu_median_s': median(cpus)}
    return out


def podman_part(containers, args, workdir, logdir):
    """The fleet benchmark over the podman connection; returns its results.json keys."""
    inv, cfg = write_inventory(workdir, containers, args.forks)
    env = base_env(cfg)
    cmds = commands(inv)
    log('podman: %d hosts, forks %d, %d repetitions; load average %s' % (len(containers), args.forks, args.reps, loadavg()))
    variants = () if args.no_variants else VARIANTS
    raw = timed_runs(containers, cmds, env, logdir, args.reps, variants)
    shape = {} if args.skip_profile else profile_pass(containers[:max(1, args.profile_hosts)], cmds, env, logdir, variants)
    env_mem = dict(env)
    env_mem['BENCH_INVENTORY'] = inv
    memory = module_memory(containers[0], env_mem, logdir)
    log_module_memory(memory['runs'])
    micro = {} if args.skip_micro else run_micros(logdir)
    summary = summarize(raw, len(containers))
    keys = podman_ratio_keys(summary, len(containers), args)
    keys.update(micro_keys(micro))
    keys.update(memory_keys(memory['runs']))
    keys.update({
        'summary': summary,
        'raw': raw,
        'profile': shape,
        'module_memory': memory,
        'micro': micro,
        'setup': podman_setup(cmds, variants),
    })
    return keys


def log_module_memory(runs):
    log('peak RSS: local_ports %.1f MB first / %.1f MB rerun; local_ports_info %.1f MB (service ports) / %.1f MB '
        '(ports 1-65535); ping %.1f MB; python3 alone %.1f MB'
        % (runs['local_ports_first']['maxrss_mb'], runs['local_ports_rerun']['maxrss_mb'], runs['local_ports_info']['maxrss_mb'],
           runs['local_ports_info_all_ports']['maxrss_mb'], runs['ping']['maxrss_mb'], runs['python_startup']['maxrss_mb']))


def run_micros(logdir):
    """bench_plan.py (project venv) and bench_info.py (the system's python3, as root), logged; their run_micro()s."""
    micro = {}
    micro['bench_plan'] = run_micro([os.path.join(VENV_BIN, 'python'), os.path.join(BENCH, 'bench_plan.py')], 'bench_plan', logdir)
    micro['bench_info'] = run_micro(['/usr/bin/python3', os.path.join(BENCH, 'bench_info.py')], 'bench_info', logdir)
    failed = [n for n, m in micro.items() if m['rc'] != 0]
    if failed:
        log('micro-benchmarks with a non-zero exit: %s (see %s)' % (failed, os.path.relpath(logdir, REPO)))
    return micro


def podman_ratio_keys(summary, hosts, args):
    """Sizes of the podman part, the medians of its four runs and their ratios."""
    floor, first, rerun, base = (summary[k]['median_s'] for k in KINDS)
    return {
        'hosts': hosts,
        'forks': args.forks,
        'repetitions': args.reps,
        'floor_s': floor,
        'role_first_s': first,
        'role_rerun_s': rerun,
        'baseline_s': base,
        'role_rerun_over_floor': round(rerun / floor, 2),
        'role_first_over_floor': round(first / floor, 2),
        # Information only since issue 10: the baseline's ratio to the floor is
        # bounded by what facts + two sysctl tasks cost, whatever the role does.
        'baseline_over_role_first': round(base / first, 2),
    }


def _case_ms(case, key):
    """A bench_info.py case's ``key`` (seconds) in milliseconds, or None when the case has none."""
    return round(case[key] * 1000, 1) if key in case else None


def micro_keys(micro):
    """The results.json keys taken from the micro-benchmarks' output (None where they gave none)."""
    plan = (micro.get('bench_plan') or {}).get('output') or {}
    plan_ms = plan.get('results', {}).get('plan_step', {}).get('median_ms')
    plan_ms = round(plan_ms, 1) if plan_ms is not None else None
    keys = {
        'plan_worst_case_ms': plan_ms,
        'plan_worst_case_rerun_ms': plan.get('results', {}).get('rerun_step', {}).get('median_ms'),
    }
    keys.update(info_keys(micro))
    return keys


def info_keys(micro):
    """The results.json keys taken from bench_info.py's output (None where it gave none)."""
    info = (micro.get('bench_info') or {}).get('output') or {}
    info_case = info.get('cases', {}).get('ports_given_10', {})
    # The full listener scan with process names (50,000 sockets, 2,000 processes, simulated /proc).
    scan_case = info.get('cases', {}).get('listeners_with_processes', {})
    # The per-destination count alone (issue 24); the audits above include it.
    pressure_case = info.get('cases', {}).get('pressure_only', {})
    return {
        'info_50k_sockets_ms': _case_ms(info_case, 'median_s'),
        'info_50k_sockets_cpu_ms': _case_ms(info_case, 'cpu_median_s'),
        'info_listeners_with_processes_ms': _case_ms(scan_case, 'median_s'),
        'info_listeners_with_processes_cpu_ms': _case_ms(scan_case, 'cpu_median_s'),
        'info_pressure_50k_ms': _case_ms(pressure_case, 'median_s'),
        'info_pressure_50k_cpu_ms': _case_ms(pressure_case, 'cpu_median_s'),
    }


def info_part(results, logdir):
    """Part "info": bench_info.py alone; its keys, and micro with the earlier bench_plan result kept."""
    micro = dict(results.get('micro') or {})
    micro['bench_info'] = run_micro(['/usr/bin/python3', os.path.join(BENCH, 'bench_info.py')], 'bench_info', logdir)
    if micro['bench_info']['rc'] != 0:
        log('bench_info: non-zero exit (see %s)' % os.path.relpath(logdir, REPO))
    keys = info_keys(micro)
    keys['micro'] = micro
    return keys


def memory_keys(runs):
    """The results.json keys of the peak memory on the target (module_memory()'s runs)."""
    return {
        'module_peak_rss_mb': max(runs[k]['maxrss_mb'] for k in ('local_ports_first', 'local_ports_rerun')),
        'module_info_peak_rss_mb': runs['local_ports_info']['maxrss_mb'],
        'module_info_all_ports_peak_rss_mb': runs['local_ports_info_all_ports']['maxrss_mb'],
        'ping_module_peak_rss_mb': runs['ping']['maxrss_mb'],
        'python_startup_rss_mb': runs['python_startup']['maxrss_mb'],
    }


def podman_setup(cmds, variants):
    """How the podman part ran, as results.json's ``setup`` records it."""
    return {
        'commands': {k: command_text(v) for k, v in cmds.items()},
        'order': 'per repetition: %s; every container is reset (kernel defaults for both keys, persisted files '
                 'and /run/portguard-ephemeral removed) before role_first and before baseline' % ', '.join(run_order(variants)),
        'variants': {
            'role_no_audit': 'the role with --skip-tags reserved_ports_audit (no local_ports_info call), nothing to change',
            'module_only': 'bench/playbooks/module_only.yml: the local_ports task alone with the values the role passes, '
                           'nothing to change',
        } if variants else {},
        'connection': 'containers.podman.podman, ansible_python_interpreter=/usr/bin/python3, podman --network none --privileged',
        'services': SERVICES,
        'reserved_ports_range': RANGE,
        'expected_reserved': EXPECTED_RESERVED,
        'timing': 'wall clock of the whole ansible / ansible-playbook process (start-up included); '
                  'controller_cpu_s = user+system CPU of the controller-side child processes (ansible, podman)',
    }


# ---- part "ssh": the same fleet run over SSH into sshd containers --------------

SSH_KINDS = ('floor', 'role_first', 'role_rerun')
SSH_ARGS = ('-C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null '
            '-o StrictHostKeyChecking=no -o IdentitiesOnly=yes -o PasswordAuthentication=no -o LogLevel=ERROR')


def write_ssh_files(directory, targets, key, forks):
    """Inventory (127.0.0.1:PORT per container, key auth) and ansible.cfg (pipelining, ControlPersist)."""
    os.makedirs(directory, exist_ok=True)
    inventory = {'all': {'children': {'bench': {
        'hosts': {name: {'ansible_port': port} for name, port in targets},
        'vars': {
            'ansible_connection': 'ansible.builtin.ssh',
            'ansible_host': '127.0.0.1',
            'ansible_user': 'root',
            'ansible_ssh_private_key_file': key,
            'ansible_python_interpreter': '/usr/bin/python3',
            'reserved_ports_services': SERVICES,
            'reserved_ports_range': RANGE,
        },
    }}}}
    inv = os.path.join(directory, 'inventory.yml')
    with open(inv, 'w') as handle:
        json.dump(inventory, handle, indent=2)
    cfg = os.path.join(directory, 'ansible.cfg')
    write_ansible_cfg(cfg, '# Written by bench/run_bench.py (part ssh); the same settings for the floor and the role.', forks,
                      sections=['[ssh_connection]', 'pipelining = True', 'ssh_args = %s' % SSH_ARGS, ''])
    return inv, cfg


def close_masters(control_dir):
    """Stop the ControlPersist masters a run left, so the next run opens its own connections; returns their number."""
    socks = [os.path.join(control_dir, n) for n in os.listdir(control_dir)]
    for sock in socks:
        subprocess.run(['ssh', '-o', 'ControlPath=' + sock, '-O', 'exit', 'bench-master'], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(control_dir, ignore_errors=True)
    return len(socks)


def ssh_run_one(kind, argv, env, logdir, rep, names, tag):
    # A short directory of its own for each run's ControlPath sockets (unix socket paths are short).
    control_dir = tempfile.mkdtemp(prefix='pgb-cp-')
    try:
        result, output = run_one(kind, argv, env, logdir, rep, names, extra_env={'ANSIBLE_SSH_CONTROL_PATH_DIR': control_dir}, tag=tag)
    finally:
        masters = close_masters(control_dir)
    result['control_masters'] = masters
    if masters != len(names):
        raise BenchError('%s: %d ControlPersist masters after the run, expected one per host (%d)' % (kind, masters, len(names)))
    return result, output


def wait_for_sshd(targets, key, timeout=60):
    """Every sshd accepts the key (a container's sshd may still be starting)."""
    deadline = time.time() + timeout
    for name, port in targets:
        while True:
            proc = subprocess.run(['ssh', '-i', key, '-p', str(port), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5']
                                  + SSH_ARGS.replace('ControlMaster=auto', 'ControlMaster=no').split()
                                  + ['root@127.0.0.1', 'true'],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
            if proc.returncode == 0:
                break
            if time.time() > deadline:
                raise BenchError('%s: no ssh login on 127.0.0.1:%d: %s' % (name, port, proc.stdout.strip()[-300:]))
            time.sleep(0.5)


def check_ssh_transport(output, targets):
    """From a -vvv ping: ssh with ControlPersist to every host, modules piped (no file put on a host)."""
    execs = [line for line in output.splitlines() if 'SSH: EXEC ssh ' in line]
    problems = []
    if not all('ControlPersist=60s' in line and 'ControlMaster=auto' in line for line in execs):
        problems.append('an ssh command without ControlMaster=auto / ControlPersist=60s')
    hosts_seen = {name for name, port in targets if any("Port=%d'" % port in line or 'Port=%d ' % port in line for line in execs)}
    if hosts_seen != {name for name, _port in targets}:
        problems.append('no ssh command to the port of %s' % sorted({name for name, _port in targets} - hosts_seen))
    puts = [line for line in output.splitlines() if ' PUT ' in line or 'sftp' in line.lower()]
    if puts:
        problems.append('files put on the hosts (pipelining off?): %s' % puts[0][:200])
    if problems:
        raise BenchError('ssh transport: ' + '; '.join(problems))
    return {'ssh_commands': len(execs), 'hosts': len(hosts_seen), 'files_put': 0,
            'checked': 'from -vvv of an untimed ping: every host connected over ssh, every ssh command with '
                       'ControlMaster=auto and ControlPersist=60s, no file put (modules piped)'}


def ssh_part(targets, key, hosts_list, reps, forks, workdir):
    """Floor, role first run and rerun over SSH at each N of hosts_list; returns its results.json keys."""
    by_hosts, raw_all, cmds = {}, {}, {}
    wait_for_sshd(targets[:max(hosts_list)], key)
    for hosts in hosts_list:
        by_hosts[str(hosts)], raw_all[str(hosts)], cmds = ssh_at(targets[:hosts], key, reps, forks, workdir)
    largest = by_hosts[str(max(hosts_list))]
    return {
        'ssh_hosts': list(hosts_list),
        'ssh_role_first_over_floor': largest['role_first_over_floor'],
        'ssh_role_rerun_over_floor': largest['role_rerun_over_floor'],
        'ssh_floor_s': largest['floor']['median_s'],
        'ssh_role_first_s': largest['role_first']['median_s'],
        'ssh_role_rerun_s': largest['role_rerun']['median_s'],
        'ssh': {
            'forks': forks,
            'repetitions': reps,
            'by_hosts': by_hosts,
            'raw': raw_all,
            'commands': {k: command_text(cmds[k]) for k in SSH_KINDS},
            'connection': 'ansible.builtin.ssh to 127.0.0.1:PORT, one container per host (localhost/portguard-debian:'
                          'bookworm-sshd, sshd -D as PID 1, --network slirp4netns with -p 127.0.0.1::22), root with an '
                          'ed25519 key generated in the bench work directory, pipelining = True, ssh_args = %s' % SSH_ARGS,
            'order': 'per N: one untimed ping of every host, then per repetition: floor, role_first (after a reset of '
                     'every container), role_rerun; the ControlPersist masters of each run are closed after it '
                     '(ssh -O exit), so every run opens one connection per host',
            'services': SERVICES,
            'reserved_ports_range': RANGE,
        },
    }


def ssh_at(subset, key, reps, forks, workdir):
    """The ssh part at one N (the hosts of ``subset``): checked transport, then the timed runs; (summary, raw, commands)."""
    hosts = len(subset)
    names = [name for name, _port in subset]
    directory = os.path.join(workdir, 'ssh-%d' % hosts)
    logdir = os.path.join(directory, 'logs')
    os.makedirs(logdir, exist_ok=True)
    inv, cfg = write_ssh_files(directory, subset, key, forks)
    env = base_env(cfg)
    cmds = commands(inv)
    log('ssh: %d hosts, forks %d, %d repetitions; load average %s' % (hosts, forks, reps, loadavg()))
    # Untimed, with -vvv: every sshd answers, every host's Python is warm
    # before the first timed run, and the transport is what the page says.
    _result, output = ssh_run_one('floor', cmds['floor'] + ['-vvv'], env, logdir, 'warmup-vvv', names, '')
    transport = check_ssh_transport(output, subset)
    raw = ssh_timed_runs(names, cmds, env, logdir, reps)
    summary = summarize(raw, hosts)
    floor = summary['floor']['median_s']
    summary['role_first_over_floor'] = round(summary['role_first']['median_s'] / floor, 2)
    summary['role_rerun_over_floor'] = round(summary['role_rerun']['median_s'] / floor, 2)
    summary['transport_check'] = transport
    return summary, raw, cmds


def ssh_timed_runs(names, cmds, env, logdir, reps):
    """``reps`` repetitions of SSH_KINDS on the hosts ``names``, each role_first after a reset; the runs per kind."""
    hosts = len(names)
    raw = {kind: [] for kind in SSH_KINDS}
    expected_state = {'reserved': EXPECTED_RESERVED, 'range': EXPECTED_RANGE}
    reset_all(names)
    ran_role = False
    for rep in range(1, reps + 1):
        for kind in SSH_KINDS:
            if kind == 'role_first':
                reset_all(names, expect=expected_state if ran_role else None)
            result, _out = ssh_run_one(kind, cmds[kind], env, logdir, rep, names, '')
            result['rep'] = rep
            raw[kind].append(result)
            ran_role = ran_role or kind != 'floor'
            log('ssh %d hosts rep %d %-10s %7.2f s wall, %6.2f s controller CPU, load %.1f'
                % (hosts, rep, kind, result['wall_s'], result['controller_cpu_s'], result['loadavg_1m_before']))
    reset_all(names, expect=expected_state)
    return raw


# ---- results ------------------------------------------------------------------

def load_previous(path):
    """The keys of an earlier results.json, so a run of some parts keeps the others' numbers."""
    try:
        with open(path) as handle:
            previous = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(previous, dict):
        return {}
    parts = previous.setdefault('parts', {})
    if 'hosts' in previous and 'podman' not in parts:  # written before results.json had parts
        parts['podman'] = {'started_at': previous.get('started_at'), 'duration_s': previous.get('bench_duration_s')}
    return previous


def split_int_list(text, name):
    try:
        values = [int(x) for x in text.split(',') if x.strip()]
    except ValueError:
        raise BenchError('%s: not a comma-separated list of numbers: %r' % (name, text))
    if not values or min(values) < 1:
        raise BenchError('%s: needs at least one positive number: %r' % (name, text))
    return values


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--parts', default='podman', help='comma-separated: podman, ssh, scale, info')
    parser.add_argument('--containers', help='podman part: comma-separated container names')
    parser.add_argument('--reps', type=int, default=3, help='podman part: repetitions (at least 3)')
    parser.add_argument('--forks', type=int, default=5)
    parser.add_argument('--workdir', required=True)
    parser.add_argument('--out', default=os.path.join(BENCH, 'results.json'))
    parser.add_argument('--fresh', action='store_true', help='do not keep the keys of parts not run from an existing --out')
    parser.add_argument('--skip-micro', action='store_true', help='skip bench_plan.py and bench_info.py')
    parser.add_argument('--skip-profile', action='store_true')
    parser.add_argument('--profile-hosts', type=int, default=4, help='hosts of the untimed -vvv profiling pass')
    parser.add_argument('--no-variants', action='store_true',
                        help='skip the diagnostic runs (role without the audit, local_ports alone)')
    parser.add_argument('--ssh-containers', help='ssh part: comma-separated NAME=PORT (sshd published on 127.0.0.1:PORT)')
    parser.add_argument('--ssh-key', help='ssh part: private key accepted by every sshd container')
    parser.add_argument('--ssh-hosts', default='16,64', help='ssh part: numbers of hosts (default 16,64)')
    parser.add_argument('--ssh-reps', type=int, default=3, help='ssh part: repetitions at each N')
    parser.add_argument('--scale-hosts', default=','.join(str(n) for n in part_scale.DEFAULT_HOSTS),
                        help='scale part: numbers of synthetic hosts (default 100,1000,3000,10000)')
    parser.add_argument('--scale-reps', default='',
                        help='scale part: repetitions, one number for every N or one per N (default 3, and 1 from 3000 hosts)')
    return parser


def checked_parts(parser, args):
    """The parts asked for, after the checks of their options that need nothing else (parser.error otherwise)."""
    parts = [p.strip() for p in args.parts.split(',') if p.strip()]
    unknown = sorted(set(parts) - {'podman', 'ssh', 'scale', 'info'})
    if unknown or not parts:
        parser.error('--parts: unknown %s (choose from podman, ssh, scale, info)' % unknown)
    if 'podman' in parts:
        if not args.containers:
            parser.error('the podman part needs --containers')
        if args.reps < 3:
            parser.error('--reps must be at least 3')
    if 'ssh' in parts:
        if not args.ssh_containers or not args.ssh_key:
            parser.error('the ssh part needs --ssh-containers and --ssh-key')
        if args.ssh_reps < 1:
            parser.error('--ssh-reps must be at least 1')
    return parts


def ssh_targets(parser, args):
    """--ssh-containers as (name, port) pairs and --ssh-hosts as numbers, checked against each other."""
    targets = []
    for item in args.ssh_containers.split(','):
        name, _sep, port = item.partition('=')
        if not port.isdigit():
            parser.error('--ssh-containers: NAME=PORT expected, got %r' % item)
        targets.append((name, int(port)))
    hosts_list = split_int_list(args.ssh_hosts, '--ssh-hosts')
    if max(hosts_list) > len(targets):
        parser.error('--ssh-hosts asks for %d hosts, %d sshd containers given' % (max(hosts_list), len(targets)))
    return targets, hosts_list


def scale_sizes(parser, args):
    """--scale-hosts and the repetitions at each of them (--scale-reps, or part_scale's defaults)."""
    hosts_list = split_int_list(args.scale_hosts, '--scale-hosts')
    if args.scale_reps:
        reps_list = split_int_list(args.scale_reps, '--scale-reps')
        if len(reps_list) == 1:
            reps_list = reps_list * len(hosts_list)
        elif len(reps_list) != len(hosts_list):
            parser.error('--scale-reps: one number, or one per --scale-hosts entry')
    else:
        reps_list = [part_scale.default_reps(n) for n in hosts_list]
    return hosts_list, reps_list


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def run_part(results, part, run):
    """Run one part (``run()`` returns its keys) into results, with its date, duration and load averages in parts."""
    t0, at, load_start = time.perf_counter(), now_iso(), loadavg()
    results.update(run())
    results['parts'][part] = {'started_at': at, 'duration_s': round(time.perf_counter() - t0, 1),
                              'loadavg_start': load_start, 'loadavg_end': loadavg()}


def scale_part(args, hosts_list, reps_list):
    try:
        return part_scale.run(args.workdir, hosts_list, reps_list, args.forks, log)
    except part_scale.ScaleError as error:
        raise BenchError('scale: %s' % error)


def run_parts(parser, args, parts, results, logdir):
    """The parts asked for, in the order podman, ssh, scale, info (each one's own options checked when it starts)."""
    if 'podman' in parts:
        run_part(results, 'podman', lambda: podman_part(args.containers.split(','), args, args.workdir, logdir))
    if 'ssh' in parts:
        targets, hosts_list = ssh_targets(parser, args)
        run_part(results, 'ssh', lambda: ssh_part(targets, os.path.abspath(args.ssh_key), hosts_list, args.ssh_reps,
                                                  args.forks, args.workdir))
    if 'scale' in parts:
        hosts_list, reps_list = scale_sizes(parser, args)
        run_part(results, 'scale', lambda: scale_part(args, hosts_list, reps_list))
    if 'info' in parts:
        run_part(results, 'info', lambda: info_part(results, logdir))


def write_results(path, results, parts):
    """results.json, replaced in one step; then its targets in the log."""
    # Keys in a stable order: the podman part's first (as before), then the new parts, then the rest.
    tmp = path + '.tmp'
    with open(tmp, 'w') as handle:
        json.dump(results, handle, indent=2, sort_keys=False)
        handle.write('\n')
    os.replace(tmp, path)
    log('wrote %s (parts run: %s)' % (os.path.relpath(path, REPO) if path.startswith(REPO) else path, ', '.join(parts)))
    for name, target in results['targets'].items():
        log('  %-26s %-8s %s' % (name, target['value'], {True: 'met', False: 'MISSED', None: 'not measured'}[target['met']]))


def main():
    parser = build_parser()
    args = parser.parse_args()
    parts = checked_parts(parser, args)
    started = time.perf_counter()
    started_at = now_iso()
    os.makedirs(args.workdir, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    logdir = os.path.join(args.workdir, 'logs')
    os.makedirs(logdir, exist_ok=True)
    if not HOST_NETNS.startswith('net:['):
        raise BenchError('cannot read the controller network namespace: %r' % HOST_NETNS)

    results = {} if args.fresh else load_previous(args.out)
    results.setdefault('parts', {})
    results.pop('targets', None)
    load_start = loadavg()
    run_parts(parser, args, parts, results, logdir)
    results['targets'] = compute_targets(results)
    results.update({
        'machine': machine_info(),
        'loadavg_start': load_start,
        'loadavg_end': loadavg(),
        'started_at': started_at,
        'bench_duration_s': round(time.perf_counter() - started, 1),
        'parts_this_run': parts,
    })
    write_results(args.out, results, parts)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except BenchError as exc:
        log('FAILED: %s' % exc)
        sys.exit(1)
