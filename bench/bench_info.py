# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time portguard.ephemeral.local_ports_info reading a namespace with 50,000 sockets (a make bench micro-benchmark).

Run as root:  python3 bench/bench_info.py [--sockets 50000] [--runs 5] [--target 0.5]

The case ``pressure_only`` times the per-destination count of issue 24 alone
(``_pressure.scan`` of the four tables read afresh, then ``report``), the part
of every audit above that ``pressure`` costs; it is reported, not gated (the
gated audits include it).

A last case, ``listeners_with_processes``, times the full listener scan (no
``ports`` option) with process names on a simulated /proc (``--processes``
processes holding ``--sockets`` sockets, built in a temporary directory and
passed as run()'s ``net_directory`` and ``proc_root``); it is reported, not
gated.  ``--only-simulated`` runs just that case (no root needed).

The process moves itself into a new, private network namespace (unshare), so
nothing is created in the machine's own.  Worker processes forked there each
listen on one loopback port (every fourth on ::1, so tcp6 is filled too) and
open connections to it, keeping both ends: one connection is two sockets.
Workers are sized to the RLIMIT_NOFILE hard limit (each raises its soft limit
to it), so a hard limit of 1024 only means more workers.

Then the module's logic (module_utils/_local_ports_info.run, exactly what the
module calls) reads that namespace; each case is timed ``--runs`` times,
including json.dumps of the result as AnsibleModule.exit_json does, in wall
time and in CPU time (user + system of this process: the kernel's work of
formatting the tables is system time of the reader).  Prints one JSON
document; exits 1 when a case that reads the namespace with a port list, or
with no ports option at all, has a median CPU time over ``--target`` seconds
(wall time on a shared CI machine measures the other jobs too; the load
average is printed next to it).  No sysctl is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import ctypes
import ctypes.util
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, '.cache', 'collections')
CLONE_NEWNET = 0x40000000
BASE_PORT = 20000
FD_HEADROOM = 32


def _import_impl():
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'portguard', 'ephemeral')
    if not os.path.isdir(link):
        raise SystemExit('bench_info: %s is missing; run `make collection` (or scripts/collection-tree.sh) first' % link)
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.portguard.ephemeral.plugins.module_utils import _local_ports_info  # pylint: disable=import-outside-toplevel
    return _local_ports_info


def _import_pressure():
    from ansible_collections.portguard.ephemeral.plugins.module_utils import _pressure  # pylint: disable=import-outside-toplevel
    return _pressure


def enter_private_netns():
    """unshare(CLONE_NEWNET) this process and bring lo up; fail unless the namespace really changed."""
    if os.geteuid() != 0:
        raise SystemExit('bench_info: needs root (it creates a private network namespace)')
    host = os.readlink('/proc/self/ns/net')
    libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise SystemExit('bench_info: unshare(CLONE_NEWNET) failed: %s' % os.strerror(ctypes.get_errno()))
    mine = os.readlink('/proc/self/ns/net')
    if mine == host:
        raise SystemExit('bench_info: still in the host namespace after unshare; refusing to continue')
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
    return host, mine


def _worker(index, connections, ready_fd, control_fd):
    """Child: one listener, ``connections`` connections to it, both ends kept open until told to stop."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 2 * connections + FD_HEADROOM
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        family, address = (socket.AF_INET6, '::1') if index % 4 == 3 else (socket.AF_INET, '127.0.0.1')
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, BASE_PORT + index))
        listener.listen(1024)
        held = []
        for _number in range(connections):
            client = socket.socket(family, socket.SOCK_STREAM)
            client.connect((address, BASE_PORT + index))
            server, _peer = listener.accept()
            held.append((client, server))
        os.write(ready_fd, b'%d\n' % len(held))
    except Exception as exc:  # pylint: disable=broad-except
        os.write(ready_fd, ('error %s: %s\n' % (type(exc).__name__, exc)).encode())
        os._exit(1)
    os.close(ready_fd)
    while os.read(control_fd, 1):
        pass
    os._exit(0)


def start_workers(sockets):
    """Fork enough workers to hold ``sockets`` sockets within the fd hard limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    per_worker = max(1, (min(hard, 1 << 20) - FD_HEADROOM) // 2)
    connections = (sockets + 1) // 2
    count = max(4, -(-connections // per_worker))
    share = [connections // count + (1 if i < connections % count else 0) for i in range(count)]
    control_r, control_w = os.pipe()
    ready_r, ready_w = os.pipe()
    pids = []
    for index, conns in enumerate(share):
        pid = os.fork()
        if pid == 0:
            os.close(control_w)
            os.close(ready_r)
            _worker(index, conns, ready_w, control_r)
        pids.append(pid)
    os.close(control_r)
    os.close(ready_w)
    answers = []
    with os.fdopen(ready_r) as ready:
        while len(answers) < count:
            line = ready.readline()
            if not line:
                break
            answers.append(line.strip())
    errors = [a for a in answers if a.startswith('error')]
    if errors or len(answers) < count:
        stop_workers(pids, control_w)
        raise SystemExit('bench_info: workers failed: %s' % (errors or 'a worker exited early'))
    return pids, control_w, {'workers': count, 'connections': sum(int(a) for a in answers),
                             'rlimit_nofile_hard': hard, 'listen_ports': [BASE_PORT + i for i in range(count)]}


def stop_workers(pids, control_w):
    os.close(control_w)
    for pid in pids:
        os.waitpid(pid, 0)


def _loadavg():
    with open('/proc/loadavg') as handle:
        return [float(x) for x in handle.read().split()[:3]]


def time_case(impl, params, runs, **where):
    """Wall-clock and CPU (user + system, this process) seconds per run, json.dumps included.

    ``where``: keyword arguments of run() (net_directory, proc_root) for a simulated /proc.
    """
    walls, cpus = [], []
    result = None
    size = 0
    for _run in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = impl.run(params, **where)
        size = len(json.dumps(result))
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return {
        'params': params if len(json.dumps(params)) < 200 else '(%d bytes)' % len(json.dumps(params)),
        'median_s': round(statistics.median(walls), 4),
        'cpu_median_s': round(statistics.median(cpus), 4),
        'min_s': round(min(walls), 4),
        'max_s': round(max(walls), 4),
        'runs_s': [round(t, 4) for t in walls],
        'cpu_runs_s': [round(t, 4) for t in cpus],
        'ports_reported': len(result['ports']),
        'sockets_seen': result['sockets']['total'],
        'unreserved_listeners': result['unreserved_listener_count'],
        'process_scan': result['process_scan'],
        'processes_named': len(set(p['pid'] for e in result['ports'] for s in e['listeners'] + e['holders']
                                   for p in s['processes'])),
        'pressure_destinations': result['pressure']['destination_count'],
        'pressure_tightest': (result['pressure']['destinations'] or [None])[0],
        'result_json_bytes': size,
    }


def pressure_case(impl, runs):
    """``pressure`` alone: read the four tables, group by destination, count against the live values."""
    pressure = _import_pressure()
    live = impl._sysctl.read_live()  # pylint: disable=protected-access
    walls, cpus = [], []
    result = None
    for _run in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = pressure.report(pressure.scan(pressure.read_tables()), live.port_range, live.reserved)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return {
        'median_s': round(statistics.median(walls), 4),
        'cpu_median_s': round(statistics.median(cpus), 4),
        'runs_s': [round(t, 4) for t in walls],
        'cpu_runs_s': [round(t, 4) for t in cpus],
        'ports_reported': 0,
        'pressure_destinations': result['destination_count'],
        'pressure_tightest': (result['destinations'] or [None])[0],
        'result_json_bytes': len(json.dumps(result)),
    }


def _hex_port_line(number, protocol, local_port, remote_port, state, inode):
    """One /proc/net line as the kernel writes it, on loopback."""
    if protocol.endswith('6'):
        addr, zero = '0' * 24 + '01000000', '0' * 32
    else:
        addr, zero = '0100007F', '00000000'
    remote = zero if state == '0A' else addr
    return ('%4d: %s:%04X %s:%04X %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 '
            '0000000000000000 100 0 0 10 0\n' % (number, addr, local_port, remote, remote_port, state, inode))


def build_fake_proc(top, sockets, processes, netns_link, port_range):
    """A simulated /proc under ``top``: ``processes`` processes holding ``sockets`` sockets.

    Each process listens on one port (every other one inside ``port_range``,
    so half of them are unreserved listeners) and holds both ends of its
    share of loopback connections: the client ends on ephemeral ports inside
    the range, the accepted ends on its listening port.  Every fourth process
    uses tcp6.  Each has three non-socket descriptors too.  Every process is in
    the examined namespace (``netns_link``): the worst case for the scan.
    Returns (net directory, proc root, {'sockets', 'processes', 'fd_links'}).
    """
    low, high = port_range
    net = os.path.join(top, 'net')
    os.makedirs(net)
    lines = {'tcp': [], 'tcp6': []}
    per_process = max(1, sockets // processes)
    connections = (per_process - 1) // 2
    inode = 100000
    ephemeral = low
    links = 0
    made = 0
    for index in range(processes):
        protocol = 'tcp6' if index % 4 == 3 else 'tcp'
        table = lines[protocol]
        listen = (low + 1 + index) if index % 2 else (10000 + index)
        fds = ['/dev/null', '/dev/null', '/dev/null']
        inode += 1
        table.append((protocol, listen, 0, '0A', inode))
        fds.append('socket:[%d]' % inode)
        for _number in range(connections):
            ephemeral += 1
            if ephemeral > high:
                ephemeral = low + processes + 1
            inode += 1
            table.append((protocol, ephemeral, listen, '01', inode))
            fds.append('socket:[%d]' % inode)
            inode += 1
            table.append((protocol, listen, ephemeral, '01', inode))
            fds.append('socket:[%d]' % inode)
        made += 1 + 2 * connections
        base = os.path.join(top, str(1000 + index))
        os.makedirs(os.path.join(base, 'fd'))
        os.makedirs(os.path.join(base, 'ns'))
        os.symlink(netns_link, os.path.join(base, 'ns', 'net'))
        with open(os.path.join(base, 'comm'), 'w') as handle:
            handle.write('worker%d\n' % index)
        with open(os.path.join(base, 'status'), 'w') as handle:
            handle.write('Name:\tworker\nUid:\t0\t0\t0\t0\n')
        for number, target in enumerate(fds):
            os.symlink(target, os.path.join(base, 'fd', str(number)))
        links += len(fds)
    header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
    for protocol in ('tcp', 'tcp6', 'udp', 'udp6'):
        with open(os.path.join(net, protocol), 'w') as handle:
            handle.write(header)
            handle.writelines(_hex_port_line(number, *entry) for number, entry in enumerate(lines.get(protocol, ())))
    return net, top, {'sockets': made, 'processes': processes, 'fd_links': links}


def simulated_case(impl, sockets, processes, runs, netns_link):
    """The full listener scan (no ports option) with process names, on a simulated /proc."""
    live = impl._sysctl.read_live()  # pylint: disable=protected-access
    base = '/dev/shm' if os.path.isdir('/dev/shm') else None
    top = tempfile.mkdtemp(prefix='portguard-bench-proc-', dir=base)
    try:
        started = time.perf_counter()
        net, root, shape = build_fake_proc(top, sockets, processes, netns_link, live.port_range)
        shape['build_s'] = round(time.perf_counter() - started, 2)
        case = time_case(impl, {}, runs, net_directory=net, proc_root=root)
        case['simulated'] = shape
        return case
    finally:
        shutil.rmtree(top, ignore_errors=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--sockets', type=int, default=50000)
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--target', type=float, default=0.5, help='seconds (median) for the gated cases')
    parser.add_argument('--processes', type=int, default=2000,
                        help='processes of the simulated /proc for the listener scan with process names')
    parser.add_argument('--only-simulated', action='store_true',
                        help='run only the simulated /proc case (no namespace, no workers)')
    return parser.parse_args()


def namespace_cases(impl, sockets, runs):
    """Workers holding ``sockets`` sockets in this process's namespace, and the cases that read it; (setup, cases)."""
    started = time.perf_counter()
    pids, control_w, setup = start_workers(sockets)
    setup['setup_s'] = round(time.perf_counter() - started, 2)
    try:
        # A few service ports: some listeners, some client ends, some unused.
        probe = impl.run({'examine': setup['listen_ports'][:2]})
        # The accepted ends on a listening port name the client ends' ports as their remote port.
        client_ports = [int(h['remote'].rsplit(':', 1)[1]) for h in probe['ports'][0]['holders'][:4]]
        some_ports = setup['listen_ports'][:3] + client_ports + [8080, 8443, 40001]
        cases = {
            'ports_given_10': time_case(impl, {'examine': some_ports}, runs),
            'ports_omitted_all_listeners': time_case(impl, {}, runs),
            'ports_1024_65535': time_case(impl, {'examine': '1024-65535'}, runs),
            'pressure_only': pressure_case(impl, runs),
        }
    finally:
        stop_workers(pids, control_w)
    return setup, cases


def main():
    args = parse_args()
    impl = _import_impl()
    if args.only_simulated:
        case = simulated_case(impl, args.sockets, args.processes, args.runs, os.readlink('/proc/self/ns/net'))
        print(json.dumps({'cases': {'listeners_with_processes': case}}, indent=2))
        return 0

    load_before = _loadavg()
    host, mine = enter_private_netns()
    setup, cases = namespace_cases(impl, args.sockets, args.runs)
    # The full listener scan with process names: 50,000 sockets and 2,000
    # processes (real ones would cost more to set up than to measure), read
    # through run()'s net_directory and proc_root.  Measured, not gated.
    cases['listeners_with_processes'] = simulated_case(impl, args.sockets, args.processes, args.runs, mine)
    gated = ('ports_given_10', 'ports_omitted_all_listeners')
    # Gate on CPU time (user + system of this process, which includes the
    # kernel formatting the tables for us): wall time on a shared machine also
    # measures everyone else.  Both are reported.
    ok = all(cases[name]['cpu_median_s'] < args.target for name in gated)
    report = {
        'benchmark': 'local_ports_info reading a namespace with many sockets',
        'python': platform.python_version(),
        'kernel': platform.release(),
        'cpus': os.cpu_count(),
        'netns': {'host': host, 'private': mine},
        'sockets_requested': args.sockets,
        'sockets_seen': cases['ports_given_10']['sockets_seen'],
        'setup': setup,
        'target_median_s': args.target,
        'gate': 'cpu_median_s of the gated cases < target_median_s',
        'loadavg_before': load_before,
        'loadavg_after': _loadavg(),
        'gated_cases': list(gated),
        'ok': ok,
        'cases': cases,
    }
    print(json.dumps(report, indent=2))
    return 0 if ok and report['sockets_seen'] >= args.sockets else 1


if __name__ == '__main__':
    sys.exit(main())
