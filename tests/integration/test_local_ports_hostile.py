# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile state on the target (issue 21): FIFOs, links, sockets and junk where local_ports keeps its state, a
full /run, foreign lock holders, and moving the managed file.  No hang, no escape, no traceback, no leftover.

Every case runs in a Lab (private network namespace, private /run, the lab's sysctl tree) through modrun.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import random

import nslab
import pytest
from modrun import FILE, READ_STATE, failed, file_holdings, live_set, ok, one, scenario

STATE = '/run/portguard-ephemeral'
# The namespace's cookie, as the module names its record, journal and lock after it.
KEY = ('import socket, struct\n'
       'key = "%d" % struct.unpack("=Q", socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).getsockopt('
       'socket.SOL_SOCKET, 71, 8))[0]\n')


def plant(code):
    """A py step that creates the state directory, then runs ``code`` (with ``key``, ``os``, ``STATE``)."""
    setup = 'import os, socket, subprocess, json\nSTATE = %r\nos.makedirs(STATE, 0o700, exist_ok=True)\n' % STATE
    return {'py': KEY + setup + code}


@pytest.mark.parametrize('name', ['owned-netns-424242', 'intent-netns-424242', 'lock-netns-424242',
                                  '.owned-netns-424242.999999999.tmp'])
def test_a_fifo_of_another_namespace_hangs_no_run(lab, name):
    results = scenario(lab, plant('os.mkfifo(os.path.join(STATE, %r))\n' % name),
                       {'run': {'owner': 'app', 'reserved': [8080], 'lock_timeout': 5}},
                       {'run': {'owner': 'live', 'reserved': [8081], 'persist': False, 'lock_timeout': 5}})
    ok(results[1]), ok(results[2])
    assert live_set(lab) == frozenset([8080, 8081])


@pytest.mark.parametrize('prefix', ['owned-netns-', 'intent-netns-'])
def test_a_fifo_as_this_namespaces_own_state_is_refused_naming_it(lab, prefix):
    results = scenario(lab, plant('os.mkfifo(os.path.join(STATE, %r + key))\n' % prefix),
                       {'run': {'owner': 'app', 'reserved': [8080], 'lock_timeout': 5}})
    msg = failed(results[1])
    assert 'is a FIFO, not a regular file; remove it; nothing was changed' in msg and prefix in msg, msg
    assert live_set(lab) == frozenset() and not os.path.exists(lab.file(FILE))


def test_a_full_run_at_lock_time_says_so_and_leaves_no_lock_file(lab):
    fill = ('subprocess.check_call(["mount", "-t", "tmpfs", "-o", "size=8k,mode=0700", "none", STATE])\n'
            'with open(os.path.join(STATE, "filler"), "wb") as handle:\n'
            '    try:\n'
            '        handle.write(b"x" * 65536)\n'
            '    except OSError:\n'
            '        pass\n')
    results = scenario(lab, plant(fill), {'run': {'owner': 'app', 'reserved': [8080]}}, {'py': READ_STATE})
    msg = failed(results[1])
    assert 'cannot write the holder details into the lock file' in msg and 'No space left on device' in msg, msg
    assert 'nothing was changed' in msg and 'Traceback' not in msg
    assert sorted(results[2]) == ['filler'], results[2]
    assert live_set(lab) == frozenset()


HOLD = ('holder = subprocess.Popen(["flock", os.path.join(STATE, "lock-netns-" + key), "sleep", "60"], '
        'stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)\n'
        'import time\n'
        'for _ in range(100):\n'
        '    if subprocess.run(["flock", "-n", os.path.join(STATE, "lock-netns-" + key), "true"]).returncode:\n'
        '        break\n'
        '    time.sleep(0.05)\n'
        'open("/tmp/portguard-holder.pid", "w").write(str(holder.pid))\n'
        'out = holder.pid\n')
STOP = 'import os, signal\nos.killpg(int(open("/tmp/portguard-holder.pid").read()), signal.SIGKILL)\n'


def test_a_lock_held_by_another_program_is_named_by_pid_and_command(lab):
    results = scenario(lab, plant(HOLD), {'run': {'owner': 'app', 'reserved': [8080], 'lock_timeout': 1}},
                       {'py': STOP})
    msg = failed(results[1])
    assert 'held by pid %d (flock: flock %s/lock-netns-' % (results[0], STATE) in msg, msg
    assert 'which is not a run of this module' in msg and 'nothing was changed' in msg, msg


def test_holder_details_in_the_lock_file_are_not_believed(lab):
    """A fake holder record in the lock file is never reported: the kernel says who holds the lock."""
    fake = ('open(os.path.join(STATE, "lock-netns-" + key), "w").write(json.dumps('
            '{"pid": 1, "task": "<script>alert(1)</script>"}))\n')
    results = scenario(lab, plant(fake + HOLD), {'run': {'owner': 'app', 'reserved': [8080], 'lock_timeout': 1}},
                       {'py': STOP})
    msg = failed(results[1])
    assert 'held by pid %d (flock' % results[0] in msg and '<script>' not in msg and 'pid 1 ' not in msg, msg


@pytest.mark.parametrize('first, second', [
    ('/etc/sysctl.d/zz-portguard-ephemeral.conf', '/etc/sysctl.d/60-portguard.conf'),
    ('/etc/sysctl.d/60-portguard.conf', '/etc/sysctl.d/zz-portguard-ephemeral.conf'),
    ('/etc/sysctl.d/zz-portguard-ephemeral.conf', '/run/sysctl.d/10-portguard.conf'),
], ids=['to-an-earlier-name', 'to-a-later-name', 'to-another-directory'])
def test_moving_the_managed_file_works_in_both_directions_of_sort_order(lab, first, second):
    """The boot and sysctl --system checks leave out the file the same run removes."""
    results = scenario(lab, {'run': {'owner': 'app', 'reserved': [8080], 'path': first}},
                       {'run': {'owner': 'app', 'reserved': [8080, 8081], 'path': second}},
                       {'run': {'owner': 'app', 'reserved': [8080, 8081], 'path': second}})
    ok(results[0])
    moved, again = ok(results[1]), ok(results[2])
    assert moved['removed_files'] == [first] and not os.path.exists(lab.file(first))
    assert moved['boot']['net.ipv4.ip_local_reserved_ports']['file'] == second
    assert not again['changed'] and again['warnings'] == []
    assert file_holdings(lab, second).owners == {'app': frozenset([8080, 8081])}


KINDS = ('file', 'fifo', 'link', 'dangling-link', 'directory', 'socket', 'empty')
NAMES = ('owned-netns-%d', 'intent-netns-%d', 'lock-netns-%d', '.owned-netns-%d.1.tmp', '.intent-netns-%d.2.tmp',
         'junk-%d', 'owned-netns-ino%d-dev4')
CONTENTS = ('1-65535\n', '{"owned": "1-65535", "inode": 1, "dev": 4, "cookie": 5}', '{', '\x00\xff', '',
            '{"format": "portguard.ephemeral/owners/1", "owners": {"x": "1-65535"}, "owned": "", "seal": "sha256:0"}')


def _hostile_entries(seed, count=12):
    rng = random.Random(seed)
    entries = []
    for index in range(count):
        name = rng.choice(NAMES) % rng.randint(1, 99999)
        entries.append({'name': name, 'kind': rng.choice(KINDS), 'text': rng.choice(CONTENTS), 'n': index})
    return entries


PLANT_ENTRIES = r'''
import socket as _socket
for entry in ENTRIES:
    path = os.path.join(STATE, entry['name'])
    if os.path.lexists(path):
        continue
    kind = entry['kind']
    if kind in ('file', 'empty'):
        open(path, 'w').write(entry['text'] if kind == 'file' else '')
    elif kind == 'fifo':
        os.mkfifo(path)
    elif kind == 'link':
        os.symlink('/etc/passwd', path)
    elif kind == 'dangling-link':
        os.symlink('/nowhere/%d' % entry['n'], path)
    elif kind == 'directory':
        os.mkdir(path)
    elif kind == 'socket':
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.bind(path)
'''


@pytest.mark.parametrize('seed', range(8))
def test_random_entries_in_the_state_directory_neither_hang_nor_lose_a_port(lab, seed):
    """Files, FIFOs, links, directories and sockets with random names and contents: every run ends within
    lock_timeout, releases nothing it does not own, and a second owner's ports and a foreign port stay."""
    lab.write_sysctl(nslab.RESERVED, '5000\n')
    entries = _hostile_entries(seed)
    code = 'ENTRIES = %s\n%s' % (json.dumps(entries), PLANT_ENTRIES)
    results = scenario(lab, plant(code),
                       {'run': {'owner': 'a', 'reserved': [8080, 8081], 'lock_timeout': 3}},
                       {'run': {'owner': 'b', 'reserved': [9090], 'persist': False, 'lock_timeout': 3}},
                       {'run': {'owner': 'a', 'reserved': [8081], 'lock_timeout': 3}},
                       {'run': {'reserved': [7000], 'lock_timeout': 3}})
    for step in results[1:]:
        assert one(step)['ok'], (one(step), entries)
    assert live_set(lab) == frozenset([5000, 7000, 8081, 9090]), entries


def test_a_fifo_in_the_sysctl_directories_is_skipped_with_a_warning(lab):
    os.mkfifo(lab.file('etc/sysctl.d/50-fifo.conf'))
    results = scenario(lab, {'run': {'owner': 'app', 'reserved': [8080], 'lock_timeout': 3}},
                       {'run': {'owner': 'app', 'reserved': [8080], 'examine': [8080], 'lock_timeout': 3}})
    first = ok(results[0])
    assert any('/etc/sysctl.d/50-fifo.conf is a FIFO' in w for w in first['warnings']), first['warnings']
    assert live_set(lab) == frozenset([8080])
    assert not ok(results[1])['changed']
