# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection for local_ports, against the real kernel (the harness is modrun.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import nslab
from modrun import (FILE, READ_STATE, RES_LINE, failed, file_holdings, file_line, file_text, live_set, ok, one,
                    record_owners, scenario, sysctl_files)

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports

# ----------------------------------------------------------------------------- 1. lock


def test_concurrent_runs_lose_and_steal_nothing(lab):
    """Eight owners, each three merge runs with changing sets, all at once against one namespace."""
    lab.write_sysctl(nslab.RESERVED, '5000\n')  # an admin's live-only reservation: must stay, foreign
    workers = []
    finals = {}
    for index in range(8):
        base, owner = 20000 + index * 100, 'w%d' % index
        runs = [{'owner': owner, 'reserved': ['%d-%d' % (base, base + 9)]},
                {'owner': owner, 'reserved': ['%d-%d' % (base, base + 4), base + 50]},
                {'owner': owner, 'reserved': ['%d-%d' % (base, base + 2), base + 50, base + 60]}]
        finals[owner] = frozenset(list(range(base, base + 3)) + [base + 50, base + 60])
        workers.append({'run': runs})
    results = scenario(lab, {'parallel': workers}, {'py': READ_STATE})
    for worker in results[0]:
        for out in worker:
            assert out['ok'], out
    # The runs were serialized and every owner's last set holds: live == persisted == the union of the
    # owners' last sets, plus the admin's 5000 live.  Nothing lost, nothing stolen.
    union = frozenset().union(*finals.values())
    assert live_set(lab) == union | frozenset([5000])
    assert _ports.parse_kernel_string(file_line(lab, RES_LINE)) == union
    holdings = file_holdings(lab)
    assert holdings.owners == finals and holdings.owned == union
    assert record_owners(results[1]) == {}
    # Locks and journals are removed by their holders.
    assert not [name for name in results[1] if name.startswith(('lock-', 'intent-'))], results[1]
    # One more run of each owner changes nothing: everything agrees.
    again = scenario(lab, {'run': [{'owner': owner, 'reserved': sorted(ports)} for owner, ports in finals.items()]})
    for out in again[0]:
        assert out['ok'] and not out['result']['changed'] and out['result']['foreign']['canonical'] == '5000', out


def test_lock_wait_times_out_naming_the_holder_and_changes_nothing(lab):
    results = scenario(lab, {'parallel': [
        {'run': {'reserved': [8080]}, 'inject': ['slow_apply:4'], 'delay': 1.5},
        {'run': {'reserved': [9090], 'lock_timeout': 1}},
    ]})
    first, second = one(results[0][0]), one(results[0][1])
    assert first['ok'], first
    assert not second['ok']
    msg = second['msg']
    assert 'another run holds the lock for network namespace %s' % lab.link in msg, msg
    assert 'held by pid %d' % first['pid'] in msg, msg
    assert 'reserved=8080' in msg and 'lock_timeout=1s' in msg and 'nothing was changed' in msg, msg
    assert live_set(lab) == frozenset([8080])
    assert file_line(lab, RES_LINE) == '8080'


# ----------------------------------------------------------------------------- 2. no cookie

def test_without_cookie_live_only_ownership_is_kept_and_released(lab):
    results = scenario(
        lab,
        {'run': {'owner': 'app', 'reserved': [8080, 8081], 'persist': False}, 'inject': ['no_cookie']},
        {'py': READ_STATE},
        {'run': {'owner': 'app', 'reserved': [8081], 'persist': False}, 'inject': ['no_cookie']},
    )
    first, state, second = ok(results[0]), results[1], ok(results[2])
    assert first['netns']['cookie'] is None
    assert any('no network namespace cookie' in w for w in first['warnings']), first['warnings']
    name = 'owned-netns-ino%d-dev%d' % (first['netns']['inode'], first['netns']['dev'])
    assert json.loads(state[name])['unowned'] == '' and record_owners(state) == {
        'app': frozenset([8080, 8081])}, state
    # Before issue 11 nothing was recorded: 8080 was "foreign" and never released.
    assert second['released']['canonical'] == '8080' and second['foreign']['canonical'] == '', second
    assert live_set(lab) == frozenset([8081])


def test_record_from_another_boot_or_gone_namespace_is_not_trusted_and_removed(lab):
    """/run survived a reboot: a record under our cookie from another boot must not release an admin's port."""
    plant = r'''
import json, os, socket, struct
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
cookie = struct.unpack('=Q', s.getsockopt(socket.SOL_SOCKET, 71, 8))[0]
st = os.stat('/proc/self/ns/net')
os.makedirs('/run/portguard-ephemeral', 0o700, exist_ok=True)
def put(name, record):
    with open(os.path.join('/run/portguard-ephemeral', name), 'w') as handle:
        handle.write(json.dumps(record))
put('owned-netns-%d' % cookie, {'owned': '9000', 'boot_id': 'another-boot', 'inode': st.st_ino,
                                'dev': st.st_dev, 'cookie': cookie})
# Inode 1 is never a namespace's (nsfs inodes start at 0xF0000000): a namespace that is gone.
put('owned-netns-999999999', {'owned': '1234', 'boot_id': open('/proc/sys/kernel/random/boot_id').read().strip(),
                              'inode': 1, 'dev': st.st_dev, 'cookie': 999999999})
put('owned-netns-999999998', {'owned': '1235', 'boot_id': 'another-boot', 'inode': 1, 'dev': 1,
                              'cookie': 999999998})
out = sorted(os.listdir('/run/portguard-ephemeral'))
'''
    complete = ('import sys\nsys.path.insert(0, %r)\n'
                'from ansible_collections.portguard.ephemeral.plugins.module_utils import _ns_records\n'
                'out = _ns_records.live_namespaces() is not None\n' % nslab.COLLECTIONS)
    results = scenario(lab, {'write': [nslab.RESERVED, '9000\n']}, {'py': plant},
                       {'run': {'owner': 'app', 'reserved': [], 'persist': False}}, {'py': READ_STATE},
                       {'py': complete})
    assert len(results[1]) == 3
    result = ok(results[2])
    assert result['released']['canonical'] == '' and result['foreign']['canonical'] == '9000', result
    assert live_set(lab) == frozenset([9000])
    # The other boot's record is gone, ours is rewritten, and the record of the namespace that
    # no longer exists is gone too -- when every process's namespace can be read.  Where some
    # cannot (pid 1 in some sandboxes) nothing is taken for gone on a guess.
    state = results[3]
    expected = ['owned-netns-%d' % result['netns']['cookie']]
    if not results[4]:
        expected.append('owned-netns-999999999')
    assert sorted(state) == expected, state
    assert json.loads(state['owned-netns-%d' % result['netns']['cookie']])['owners'] == {}
    assert record_owners(state, 'owned-netns-%d' % result['netns']['cookie']) == {}


# ----------------------------------------------------------------------------- 3. changing path

def test_changing_path_keeps_ownership_and_removes_the_old_file(lab):
    old = '/etc/sysctl.d/50-portguard.conf'
    lab.write_sysctl(nslab.RESERVED, '5000\n')
    results = scenario(lab,
                       {'run': {'owner': 'app', 'reserved': [8080, 8081], 'range': '40000 50001', 'path': old}},
                       {'run': {'owner': 'app', 'reserved': [8081]}, 'check': True},
                       {'py': 'import os\nout = os.path.exists(%r)' % old},
                       {'run': {'owner': 'app', 'reserved': [8081]}})
    ok(results[0])
    check = ok(results[1])
    assert check['removed_files'] == [old] and results[2] is True  # check mode removes nothing
    result = ok(results[3])
    # 8080 was ours (recorded in the old file): released.  5000 stays foreign.
    assert result['released']['canonical'] == '8080' and result['foreign']['canonical'] == '5000', result
    assert result['removed_files'] == [old]
    assert any('path changed' in w and old in w for w in result['warnings']), result['warnings']
    assert not os.path.exists(lab.file(old))
    assert live_set(lab) == frozenset([5000, 8081])
    # The range the old file persisted carries over.
    assert file_line(lab, 'net.ipv4.ip_local_port_range = ') == '40000 50001'
    # The admin's live-only 5000 is not persisted; the owner app moves with the file.
    assert file_line(lab, RES_LINE) == '8081' and file_holdings(lab).owners == {'app': frozenset([8081])}
    assert result['boot']['net.ipv4.ip_local_port_range']['file'] == FILE


def test_failing_removal_of_the_old_file_undoes_everything(lab):
    old = '/etc/sysctl.d/50-portguard.conf'
    results = scenario(lab, {'run': {'reserved': [8080], 'path': old}})
    ok(results[0])
    before, files_before = lab.reserved(), sysctl_files(lab)
    results = scenario(lab, {'run': {'reserved': [8081]}, 'inject': ['remove_fails']})
    msg = failed(results[0])
    assert msg.startswith('removing the replaced file %s failed: [Errno 13] injected' % old), msg
    assert 'everything this run changed was undone' in msg and 'the live values were restored' in msg, msg
    assert lab.reserved() == before and sysctl_files(lab) == files_before


# ----------------------------------------------------------------------------- 4. links

def test_links_are_refused_and_their_targets_untouched(lab):
    lab.put('victim', 'precious\n')
    victim = lab.file('victim')
    os.symlink(lab.file('nowhere/sub/x.conf'), lab.file('etc/sysctl.d/zz-link.conf'))
    plant_record = r'''
import os, socket, struct
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
cookie = struct.unpack('=Q', s.getsockopt(socket.SOL_SOCKET, 71, 8))[0]
os.makedirs('/run/portguard-ephemeral', 0o700, exist_ok=True)
os.symlink(%r, '/run/portguard-ephemeral/owned-netns-%%d' %% cookie)
out = cookie
''' % victim
    plant_lock = r'''
import os, glob
for name in os.listdir('/run/portguard-ephemeral'):
    os.unlink(os.path.join('/run/portguard-ephemeral', name))
st = os.stat('/proc/self/ns/net')
import socket, struct
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
cookie = struct.unpack('=Q', s.getsockopt(socket.SOL_SOCKET, 71, 8))[0]
os.symlink(%r, '/run/portguard-ephemeral/lock-netns-%%d' %% cookie)
''' % victim
    plant_dir = r'''
import shutil
shutil.rmtree('/run/portguard-ephemeral')
os_ = __import__('os')
os_.makedirs('/run/elsewhere')
os_.symlink('/run/elsewhere', '/run/portguard-ephemeral')
out = sorted(os_.listdir('/run/elsewhere'))
'''
    before = lab.reserved()
    results = scenario(
        lab,
        {'run': {'reserved': [8080], 'path': '/etc/sysctl.d/zz-link.conf'}},
        {'py': plant_record},
        {'run': {'reserved': [8080], 'persist': False}},
        {'py': plant_lock},
        {'run': {'reserved': [8080], 'persist': False}},
        {'py': plant_dir},
        {'run': {'reserved': [8080], 'persist': False}},
        {'py': 'import os\nout = sorted(os.listdir("/run/elsewhere"))'},
    )
    msg = failed(results[0])
    assert 'path: /etc/sysctl.d/zz-link.conf is a symbolic link' in msg and 'nothing was changed' in msg, msg
    assert not os.path.exists(lab.file('nowhere')), 'the dangling link\'s target directory was created'
    msg = failed(results[2])
    assert 'owned-netns-%d is a symbolic link' % results[1] in msg and 'nothing was changed' in msg, msg
    msg = failed(results[4])
    assert 'lock file /run/portguard-ephemeral/lock-netns-' in msg and 'symbolic link' in msg, msg
    msg = failed(results[6])
    assert '/run/portguard-ephemeral is not a directory' in msg and 'nothing was changed' in msg, msg
    assert results[7] == []
    with open(victim) as handle:
        assert handle.read() == 'precious\n'
    assert lab.reserved() == before
    assert not os.path.exists(lab.file(FILE))


# ----------------------------------------------------------------------------- 6. empty strings

def test_empty_path_and_netns_are_refused_through_ansible(lab):
    lab.write_sysctl(nslab.RESERVED, '5000\n')
    before = sysctl_files(lab), lab.reserved()
    steps = [{'args': {'reserved': [8080], 'path': ''}}, {'args': {'reserved': [8080], 'netns': ''}}]
    run = lab.playbook(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'playbooks',
                                    'local_ports_steps.yml'), {'steps': steps}, expect_rc=0)
    path_result, netns_result = run.result('Apply each step')['results']
    assert path_result['failed'] and "path: '' is empty" in path_result['msg'], path_result
    assert 'omit path to use the default' in path_result['msg']
    assert netns_result['failed'] and "netns: '' is empty" in netns_result['msg'], netns_result
    assert (sysctl_files(lab), lab.reserved()) == before


# ----------------------------------------------------------------------------- 7. min_ephemeral

def test_release_under_a_hand_narrowed_range_is_not_blocked(lab):
    lab.write_sysctl(nslab.RANGE, '50000 51000\n')
    results = scenario(lab,
                       {'run': {'owner': 'app', 'reserved': ['50000-50099'], 'min_ephemeral': 0}},
                       {'run': {'owner': 'app', 'reserved': []}},
                       {'run': {'owner': 'app', 'reserved': [50500]}})
    ok(results[0])
    released = ok(results[1])  # 901 -> 1001 free ports: better, though below 8192
    assert released['released']['canonical'] == '50000-50099'
    assert released['ephemeral_ports'] == {'before': 901, 'after': 1001}
    assert any('below min_ephemeral=8192, as before this run' in w for w in released['warnings'])
    msg = failed(results[2])  # 1001 -> 1000: a reduction below the floor
    assert 'only 1000 ports would remain' in msg and 'nothing was changed' in msg, msg
    assert lab.reserved() == '\n'


# ----------------------------------------------------------------------------- 8. true messages

def test_read_only_proc_sys_says_nothing_was_changed(lab):
    lab.write_sysctl(nslab.RESERVED, '5000\n')
    before = sysctl_files(lab), lab.reserved()
    msg = failed(scenario(lab, {'run': {'reserved': [8080], 'persist': False}, 'ro_proc_sys': True})[0])
    assert 'Read-only file system' in msg and 'Nothing was changed' in msg, msg
    assert 'RESTORE FAILED' not in msg and 'restored' not in msg, msg
    assert (sysctl_files(lab), lab.reserved()) == before


def test_socket_read_failure_says_nothing_was_changed(lab):
    msg = failed(scenario(lab, {'run': {'reserved': [8080], 'examine': [8080]}, 'inject': ['sockets_fail']})[0])
    assert 'reading the socket tables to examine ports failed' in msg and 'nothing was changed' in msg, msg
    assert 'were applied' not in msg
    assert lab.reserved() == '\n' and not os.path.exists(lab.file(FILE))


def test_failure_after_applying_names_the_step_and_undoes_it(lab):
    # Owner app starts live only (its ports in the record), then persists: the file takes it over and the
    # record is written last, and fails.  One scenario: the steps share the lab's private /run.
    results = scenario(lab, {'run': {'owner': 'other', 'reserved': [7000]}},
                       {'run': {'owner': 'app', 'reserved': [9000], 'persist': False}},
                       {'py': 'out = open(%r).read()' % FILE},
                       {'run': {'owner': 'app', 'reserved': [8080], 'range': '40000 50001'},
                        'inject': ['record_write_fails']}, {'py': READ_STATE})
    ok(results[0]), ok(results[1])
    msg = failed(results[3])
    assert msg.startswith('recording the owned ports in /run/portguard-ephemeral/owned-netns-'), msg
    assert 'injected: No space left on device' in msg
    assert 'undone: %s was put back, the live values were restored' % FILE in msg, msg
    assert lab.reserved() == '7000,9000\n' and lab.port_range() == (32768, 60999)
    assert file_text(lab) == results[2]
    results = results[3:]
    # Undone in full: no journal is left for the next run to finish.
    assert not [name for name in results[1] if name.startswith('intent-')], results[1]


# ----------------------------------------------------------------------------- 11. ownership rules

def test_exact_listing_a_foreign_port_does_not_take_it_over(lab):
    lab.write_sysctl(nslab.RESERVED, '5000\n')
    results = scenario(lab, {'run': {'owner': 'app', 'reserved': [5000, 8080], 'mode': 'exact'}},
                       {'run': {'owner': 'app', 'reserved': []}})
    exact, merge = ok(results[0]), ok(results[1])
    assert exact['owned']['canonical'] == '8080' and exact['foreign']['canonical'] == '5000'
    assert merge['released']['canonical'] == '8080'
    assert live_set(lab) == frozenset([5000])


def test_live_false_claims_no_port_it_did_not_reserve(lab):
    results = scenario(lab, {'run': {'owner': 'app', 'reserved': [8080], 'live': False}},
                       {'write': [nslab.RESERVED, '8080\n']},  # an admin reserves it by hand
                       {'run': {'owner': 'app', 'reserved': []}})
    persisted, released = ok(results[0]), ok(results[2])
    assert persisted['owned']['canonical'] == '' and persisted['pending']['canonical'] == '8080'
    assert released['released']['canonical'] == '' and released['foreign']['canonical'] == '8080', released
    assert live_set(lab) == frozenset([8080])


def test_ports_declared_by_other_files_are_reported(lab):
    lab.put('etc/sysctl.d/10-vendor.conf', 'net.ipv4.ip_local_reserved_ports = 7000\n')
    result = ok(scenario(lab, {'run': {'reserved': [8080]}})[0])
    assert result['declared_elsewhere']['canonical'] == '7000' and result['foreign']['canonical'] == '7000'
    assert any('reserved 7000 live although this run did not ask for them' in w for w in result['warnings'])
    assert live_set(lab) == frozenset([7000, 8080])


def test_one_host_under_eight_inventory_names_through_ansible(lab):
    """The issue's trigger: the same machine listed twice (alias + FQDN), forks run both at once."""
    lab.write_sysctl(nslab.RESERVED, '5000\n')
    sets = dict(('alias%d' % index, ['%d-%d' % (30000 + index * 1000, 30000 + index * 1000 + 10)])
                for index in range(8))
    inventory = {'all': {'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': nslab.TARGET_PYTHON},
                         'hosts': dict((name, {'ports': ports}) for name, ports in sets.items())}}
    lab.put('inventory.json', json.dumps(inventory))
    lab.put('play.yml', '- hosts: all\n  gather_facts: false\n  tasks:\n'
                        '    - name: Apply\n      portguard.ephemeral.local_ports:\n        reserved: "{{ ports }}"\n')
    env = nslab.ansible_env(os.path.join(lab.root, '.ansible'))
    proc = lab.run(nslab.playbook_argv(lab.file('play.yml'), [lab.file('inventory.json')], args=['-f', '8']),
                   check=False, env=env)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    # Calls without an owner only add: every name's ports are reserved, live and persisted, none lost.
    union = frozenset().union(*[_ports.parse_ports(ports) for ports in sets.values()])
    assert live_set(lab) == union | frozenset([5000])
    assert _ports.parse_kernel_string(file_line(lab, RES_LINE)) == union
    assert file_holdings(lab).owners == {'unnamed': union}
