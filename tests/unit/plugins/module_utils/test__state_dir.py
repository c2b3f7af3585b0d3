# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state directory, its locks, and the per-namespace records kept in it (and their cleanup)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ns_records, _state_dir

ME = {'inode': 4026532000, 'dev': 4, 'cookie': 77, 'link': 'net:[4026532000]'}


@pytest.fixture
def state(tmp_path):
    opened = _state_dir.StateDir(str(tmp_path / 'state')).open()
    yield opened
    opened.close()


def test_directory_is_created_0700(state):
    assert stat.S_IMODE(os.lstat(state.path).st_mode) == 0o700


def test_directory_link_is_refused(tmp_path):
    os.mkdir(str(tmp_path / 'real'))
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'state'))
    with pytest.raises(_state_dir.StateError) as info:
        _state_dir.StateDir(str(tmp_path / 'state')).open()
    assert 'is not a directory' in str(info.value) and 'nothing was changed' in str(info.value)


def test_lock_is_exclusive_names_its_holder_and_is_removed_on_release(state):
    first = _state_dir.Lock(state, 'lock-netns-77', {'task': 'first task'}, 'network namespace X')
    assert first.acquire(1)
    with open(state.full('lock-netns-77')) as handle:
        info = json.load(handle)
    assert info['pid'] == os.getpid() and info['task'] == 'first task'
    second = _state_dir.Lock(state, 'lock-netns-77', {'task': 'second'}, 'network namespace X')
    assert second.acquire(0, blocking=False) is False
    with pytest.raises(_state_dir.LockTimeout) as timeout:
        second.acquire(0.2)
    message = str(timeout.value)
    assert 'another run holds the lock for network namespace X' in message
    assert 'held by pid %d' % os.getpid() in message and 'task first task' in message
    assert 'lock_timeout=0.2s; nothing was changed' in message
    first.release()
    assert not os.path.exists(state.full('lock-netns-77'))
    assert second.acquire(0)
    second.release()


def test_lock_link_is_refused(state, tmp_path):
    victim = tmp_path / 'victim'
    victim.write_text(u'precious\n')
    os.symlink(str(victim), state.full('lock-netns-77'))
    with pytest.raises(_state_dir.StateError) as info:
        _state_dir.Lock(state, 'lock-netns-77', {}, 'X').acquire(1)
    assert 'is a symbolic link' in str(info.value)
    assert victim.read_text() == u'precious\n'


def test_record_link_is_refused_and_write_replaces_a_link_without_following(state, tmp_path):
    victim = tmp_path / 'victim'
    victim.write_text(u'precious\n')
    os.symlink(str(victim), state.full('owned-netns-77'))
    with pytest.raises(_state_dir.StateError):
        state.read('owned-netns-77')
    state.write('owned-netns-77', 'x\n')
    assert not os.path.islink(state.full('owned-netns-77'))
    assert victim.read_text() == u'precious\n'
    assert stat.S_IMODE(os.lstat(state.full('owned-netns-77')).st_mode) == 0o600


@pytest.mark.parametrize('identity, name', [
    (ME, 'owned-netns-77'),
    (dict(ME, cookie=None), 'owned-netns-ino4026532000-dev4'),
], ids=['cookie', 'no-cookie'])
def test_record_names(identity, name):
    assert _ns_records.record_name(identity) == name
    assert _state_dir.netns_lock_name(identity) == 'lock-' + name[len('owned-'):]


STALE = [
    ('same-everything', {'boot_id': 'b', 'inode': ME['inode'], 'dev': 4, 'cookie': 77}, False),
    ('older-format', {'boot_id': None, 'inode': None, 'dev': None, 'cookie': None}, False),
    ('other-boot', {'boot_id': 'a', 'inode': ME['inode'], 'dev': 4, 'cookie': 77}, True),
    ('reused-inode-other-cookie', {'boot_id': 'b', 'inode': ME['inode'], 'dev': 4, 'cookie': 5}, True),
    ('other-inode', {'boot_id': 'b', 'inode': 1, 'dev': 4, 'cookie': 77}, True),
]


@pytest.mark.parametrize('record, stale', [c[1:] for c in STALE], ids=[c[0] for c in STALE])
def test_record_is_stale(record, stale):
    assert _ns_records.record_is_stale(dict(record, owned=''), ME, 'b') is stale


def test_old_plain_record_still_reads():
    assert _ns_records.parse_record('8080-8081\n')['owned'] == '8080-8081'


def test_cleanup_removes_only_records_of_gone_namespaces_and_other_boots(state):
    def put(name, **record):
        state.write(name, json.dumps(record))
    put('owned-netns-77', owned='1', boot_id='b', inode=ME['inode'], dev=4, cookie=77)   # ours
    put('owned-netns-5', owned='2', boot_id='b', inode=111, dev=4, cookie=5)             # alive
    put('owned-netns-6', owned='3', boot_id='b', inode=222, dev=4, cookie=6)             # gone
    put('owned-netns-7', owned='4', boot_id='a', inode=111, dev=4, cookie=7)             # other boot
    put('owned-netns-8', owned='5', boot_id='b', inode=ME['inode'], dev=4, cookie=8)     # our inode, reused
    state.write('owned-netns-9', '6\n')                                                  # older format: kept
    held = _state_dir.Lock(state, 'lock-netns-6', {}, 'X')
    held.acquire(0)  # another run works on 6 right now: left alone
    alive = set([(ME['inode'], 4), (111, 4)])
    assert _ns_records.cleanup(state, ME, 'b', alive) == ['owned-netns-7', 'owned-netns-8']
    held.release()
    assert _ns_records.cleanup(state, ME, 'b', alive) == ['owned-netns-6']
    # An incomplete picture of the namespaces (None) never takes a record for gone.
    put('owned-netns-10', owned='7', boot_id='b', inode=333, dev=4, cookie=10)
    assert _ns_records.cleanup(state, ME, 'b', None) == []
    assert sorted(state.names()) == ['owned-netns-10', 'owned-netns-5', 'owned-netns-77', 'owned-netns-9']
