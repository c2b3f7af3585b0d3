# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which process holds a socket (the `ss -p` way), on fake /proc trees; unreserved listeners end to end."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _examine, _local_ports_info as info
from ansible_collections.portguard.ephemeral.plugins.module_utils import _kernel as _sysctl, _processes, _sockets

NS = 'net:[4026530001]'
OTHER_NS = 'net:[4026530999]'


def make_proc(root, processes):
    """A /proc tree: {pid: {'comm', 'uid', 'netns', 'fds': [link targets], 'missing': [...]}}.

    ``missing`` leaves out parts of a process: 'fd' (vanished or unreadable
    descriptors), 'ns' (namespace link unreadable), 'comm' and 'status'
    (exited after its descriptors were read).
    """
    root = str(root)
    for pid, spec in processes.items():
        base = os.path.join(root, str(pid))
        os.makedirs(base)
        missing = spec.get('missing', ())
        if 'comm' not in missing:
            with open(os.path.join(base, 'comm'), 'w') as handle:
                handle.write(spec.get('comm', 'proc%d' % pid) + '\n')
        if 'status' not in missing:
            uid = spec.get('uid', 0)
            with open(os.path.join(base, 'status'), 'w') as handle:
                handle.write('Name:\tx\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t%d\t%d\t%d\t%d\nGid:\t0\t0\t0\t0\n'
                             % (uid + 1 if spec.get('setuid') else uid, uid, uid, uid))
        if 'ns' not in missing:
            os.makedirs(os.path.join(base, 'ns'))
            os.symlink(spec.get('netns', NS), os.path.join(base, 'ns', 'net'))
        if 'fd' not in missing:
            os.makedirs(os.path.join(base, 'fd'))
            for number, target in enumerate(spec.get('fds', ())):
                os.symlink(target, os.path.join(base, 'fd', str(number)))
    # Not processes: must be ignored.
    os.makedirs(os.path.join(root, 'net'))
    with open(os.path.join(root, 'uptime'), 'w') as handle:
        handle.write('1.0 1.0\n')
    return root


def sock(inode):
    return 'socket:[%d]' % inode


def unknown_uid():
    uid = 3999999
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid -= 1


# (name, processes, inodes asked for, {inode: [(pid, comm)]}, summary)
CASES = [
    ('one owner among noise',
     {10: {'comm': 'sshd', 'fds': ['/dev/null', 'pipe:[77]', sock(500), 'anon_inode:[eventfd]']},
      11: {'comm': 'curl', 'fds': [sock(501), sock(502)]}},
     [501], {501: [(11, 'curl')]}, {'scanned': 2, 'skipped': 0, 'other_netns': 0}),
    ('a shared listener names every process, ascending pid',
     {30: {'comm': 'nginx', 'fds': [sock(700)]}, 7: {'comm': 'nginx', 'fds': [sock(700)]},
      12: {'comm': 'nginx', 'fds': ['/var/log/x', sock(700)]}},
     [700], {700: [(7, 'nginx'), (12, 'nginx'), (30, 'nginx')]}, {'scanned': 3, 'skipped': 0, 'other_netns': 0}),
    ('another namespace is never read',
     {20: {'comm': 'inside', 'fds': [sock(900)]}, 21: {'comm': 'outside', 'netns': OTHER_NS, 'fds': [sock(901)]}},
     [900, 901], {900: [(20, 'inside')]}, {'scanned': 1, 'skipped': 0, 'other_netns': 1}),
    ('vanished or unreadable processes are skipped',
     {40: {'comm': 'gone', 'missing': ['fd']}, 41: {'comm': 'secret', 'missing': ['ns']},
      42: {'comm': 'exited', 'fds': [sock(1000)], 'missing': ['comm', 'status']},
      43: {'comm': 'alive', 'fds': [sock(1000), sock(1001)]}},
     [1000, 1001], {1000: [(43, 'alive')], 1001: [(43, 'alive')]}, {'scanned': 2, 'skipped': 3, 'other_netns': 0}),
    ('malformed socket links and inode 0 are ignored',
     {50: {'comm': 'odd', 'fds': ['socket:[abc]', 'socket:[]', sock(0), 'socket:[1100]x']},
      51: {'comm': 'ok', 'fds': [sock(1100)]}},
     [0, 1100], {1100: [(51, 'ok')]}, {'scanned': 2, 'skipped': 0, 'other_netns': 0}),
]


@pytest.mark.parametrize('name, processes, inodes, expected, summary', CASES, ids=[case[0] for case in CASES])
def test_find_owners(tmp_path, name, processes, inodes, expected, summary):
    root = make_proc(tmp_path / 'proc', processes)
    owners = _processes.find_owners(inodes, NS, root)
    found = {}
    for inode in inodes:
        listed, count = owners.of(inode)
        assert count == len(listed)
        if listed:
            found[inode] = [(proc['pid'], proc['comm']) for proc in listed]
    assert found == expected, name
    assert dict((key, owners.summary()[key]) for key in summary) == summary
    assert owners.looked_up is True


def test_no_inode_reads_nothing(tmp_path):
    # Neither an empty list nor inode 0 (TIME_WAIT) touches /proc: the root does not even exist.
    for inodes in ([], [0, 0]):
        owners = _processes.find_owners(inodes, NS, str(tmp_path / 'absent'))
        assert owners.summary() == {'looked_up': False, 'scanned': 0, 'skipped': 0, 'other_netns': 0}
        entry = owners.describe({'state': 'TIME_WAIT'}, 0)
        assert entry == {'state': 'TIME_WAIT', 'process': None, 'processes': [], 'process_count': 0,
                         'no_process': _processes.NO_PROCESS_KERNEL}


def test_missing_proc_root_is_not_an_error(tmp_path):
    owners = _processes.find_owners([5], NS, str(tmp_path / 'absent'))
    assert owners.describe({}, 5)['no_process'] == _processes.NO_PROCESS_NOT_FOUND


def test_without_a_namespace_every_process_is_read(tmp_path):
    root = make_proc(tmp_path / 'proc', {1: {'fds': [sock(1)]}, 2: {'netns': OTHER_NS, 'fds': [sock(1)]}})
    assert [p['pid'] for p in _processes.find_owners([1], None, root).of(1)[0]] == [1, 2]


def test_user_effective_uid_and_name(tmp_path):
    nobody = unknown_uid()
    root = make_proc(tmp_path / 'proc', {
        1: {'comm': 'rootd', 'uid': 0, 'setuid': True, 'fds': [sock(1)]},
        2: {'comm': 'ghost', 'uid': nobody, 'fds': [sock(2)]}})
    owners = _processes.find_owners([1, 2], NS, root)
    assert owners.of(1)[0] == [{'pid': 1, 'comm': 'rootd', 'uid': 0, 'user': pwd.getpwuid(0).pw_name}]
    assert owners.of(2)[0] == [{'pid': 2, 'comm': 'ghost', 'uid': nobody, 'user': None}]


def test_process_list_is_capped_but_counted(tmp_path):
    many = dict((pid, {'comm': 'worker', 'fds': [sock(77)]}) for pid in range(100, 100 + _processes.PROCESS_LIMIT + 5))
    owners = _processes.find_owners([77], NS, make_proc(tmp_path / 'proc', many))
    entry = owners.describe({}, 77)
    assert entry['process_count'] == _processes.PROCESS_LIMIT + 5
    assert [p['pid'] for p in entry['processes']] == list(range(100, 100 + _processes.PROCESS_LIMIT))
    assert entry['process'] == entry['processes'][0] and entry['no_process'] is None


@pytest.mark.parametrize('comms, expected', [
    (['rpc.statd'], True), (['java'], True), (['nginx', 'rpc.mountd'], True),
    (['nginx'], False), ([], False), ([None], False),
])
def test_binds_port_zero_likely(comms, expected):
    assert _processes.binds_port_zero_likely([{'comm': comm} for comm in comms]) is expected


# ---- the module's logic on a fake host: tables, sysctls and /proc ----------

def kernel_line(number, protocol, local_port, remote_port, state, inode):
    addr, zero = ('0100007F', '00000000') if protocol in ('tcp', 'udp') else ('0' * 24 + '01000000', '0' * 32)
    remote = zero if state in ('0A', '07') and remote_port == 0 else addr
    return ('%4d: %s:%04X %s:%04X %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 '
            '0000000000000000 100 0 0 10 0' % (number, addr, local_port, remote, remote_port, state, inode))


def fake_host(tmp_path, sockets, processes, port_range='40000\t40999', reserved='40500'):
    """(net directory, proc_sys, proc root) for run(); the processes live in this test's own namespace."""
    net = tmp_path / 'net'
    net.mkdir()
    for protocol in _sockets.PROTOCOLS:
        lines = [kernel_line(i, *entry) for i, entry in enumerate(sockets) if entry[0] == protocol]
        (net / protocol).write_text('  sl  local_address rem_address   st\n' + ''.join(x + '\n' for x in lines))
    proc_sys = tmp_path / 'sys'
    for key, value in ((_sysctl.RANGE_KEY, port_range), (_sysctl.RESERVED_KEY, reserved)):
        path = proc_sys / key.replace('.', '/')
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True)
        path.write_text(value + '\n')
    own = os.readlink('/proc/self/ns/net')
    for spec in processes.values():
        spec.setdefault('netns', own)
    root = make_proc(tmp_path / 'proc', processes)
    return str(net), str(proc_sys), root


# The three-clones incident: curl took 40601 as its source port (ESTABLISHED), an earlier
# connection left 40602 in TIME_WAIT, an undeclared service listens on 40700 and rpc.statd on 40800 (udp).
INCIDENT = [
    ('tcp', 40601, 443, '01', 4001),
    ('tcp', 40602, 443, '06', 0),
    ('tcp', 40700, 0, '0A', 4002),
    ('tcp', 40500, 0, '0A', 4003),      # reserved: not an unreserved listener
    ('tcp', 8080, 0, '0A', 4004),       # outside the range
    ('udp', 40800, 0, '07', 4005),
    ('tcp6', 40701, 0, '0A', 4006),     # nobody in this namespace holds it
]
INCIDENT_PROCESSES = {
    300: {'comm': 'curl', 'uid': 0, 'fds': ['/dev/pts/0', sock(4001)]},
    301: {'comm': 'python3', 'uid': 0, 'fds': [sock(4002), sock(4003), sock(4004)]},
    302: {'comm': 'rpc.statd', 'uid': 0, 'fds': [sock(4005)]},
    303: {'comm': 'elsewhere', 'netns': OTHER_NS, 'fds': [sock(4006)]},
}


def test_run_names_holders_and_unreserved_listeners(tmp_path):
    net, proc_sys, root = fake_host(tmp_path, INCIDENT, INCIDENT_PROCESSES)
    result = info.run({'examine': [40601, 40602, 40700]}, proc_sys=proc_sys, root=str(tmp_path / 'etc-root'),
                      net_directory=net, proc_root=root)
    held, waiting, listening = result['ports']
    assert held['at_risk'] and held['holders'][0]['state'] == 'ESTABLISHED'
    assert held['holders'][0]['process'] == {'pid': 300, 'comm': 'curl', 'uid': 0, 'user': pwd.getpwuid(0).pw_name}
    assert held['holders'][0]['no_process'] is None
    assert waiting['holders'][0]['state'] == 'TIME_WAIT'
    assert (waiting['holders'][0]['process'], waiting['holders'][0]['no_process']) == (None, 'kernel_only')
    assert [p['comm'] for p in listening['listeners'][0]['processes']] == ['python3']
    summary = [(u['port'], u['protocol'], u['local'], u['process'] and u['process']['comm'], u['no_process'],
                u['binds_port_zero_likely']) for u in result['unreserved_listeners']]
    assert summary == [
        (40700, 'tcp', '127.0.0.1:40700', 'python3', None, False),
        (40701, 'tcp6', '[::1]:40701', None, 'not_found', False),
        (40800, 'udp', '127.0.0.1:40800', 'rpc.statd', None, True),
    ]
    assert result['unreserved_listener_count'] == 3
    assert result['process_scan'] == {'looked_up': True, 'scanned': 3, 'skipped': 0, 'other_netns': 1}


def test_run_without_ports_examines_every_listener_and_caps_the_list(tmp_path, monkeypatch):
    sockets = [('tcp', 40000 + i, 0, '0A', 5000 + i) for i in range(1, 8)]
    processes = {400: {'comm': 'svc', 'fds': [sock(5000 + i) for i in range(1, 8)]}}
    net, proc_sys, root = fake_host(tmp_path, sockets, processes, reserved='40003')
    monkeypatch.setattr(_examine, 'UNRESERVED_LIMIT', 4)
    result = info.run({}, proc_sys=proc_sys, root=str(tmp_path / 'etc-root'), net_directory=net, proc_root=root)
    assert [entry['port'] for entry in result['ports']] == list(range(40001, 40008))
    assert all(entry['listeners'][0]['process']['pid'] == 400 for entry in result['ports'])
    assert [u['port'] for u in result['unreserved_listeners']] == [40001, 40002, 40004, 40005]
    assert result['unreserved_listener_count'] == 6


def test_run_with_no_socket_of_interest_reads_no_process(tmp_path):
    net, proc_sys, root = fake_host(tmp_path, [('tcp', 8080, 0, '0A', 6000), ('tcp', 40602, 443, '06', 0)],
                                    {500: {'fds': [sock(6000)]}})
    result = info.run({'examine': [40602]}, proc_sys=proc_sys, root=str(tmp_path / 'etc-root'), net_directory=net,
                      proc_root=root)
    assert result['unreserved_listeners'] == [] and result['unreserved_listener_count'] == 0
    assert result['process_scan']['looked_up'] is False
    assert result['ports'][0]['holders'][0]['no_process'] == 'kernel_only'


@pytest.mark.parametrize('dir_fd', [True, False])
def test_both_ways_of_reading_descriptors(tmp_path, monkeypatch, dir_fd):
    if dir_fd and not _processes._DIR_FD:  # pylint: disable=protected-access
        pytest.skip('os.readlink has no dir_fd here')
    monkeypatch.setattr(_processes, '_DIR_FD', dir_fd)
    name, processes, inodes, expected, summary = CASES[3]
    root = make_proc(tmp_path / 'proc', processes)
    owners = _processes.find_owners(inodes, NS, root)
    assert dict((inode, [(p['pid'], p['comm']) for p in owners.of(inode)[0]]) for inode in inodes) == expected, name
    assert owners.summary()['skipped'] == summary['skipped']
