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

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ns_records, _owners, _state_dir

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
    assert _ns_records.is_stale(record, ME, 'b') is stale


def test_a_plain_text_record_is_never_trusted():
    """A record dropped into the state directory by hand ("1-65535") must not make a run release anything."""
    record = _ns_records.parse('1-65535\n', ME, 'b', '/run/portguard-ephemeral/owned-netns-77')
    assert record.trust == 'unsealed' and 'not a record this module wrote' in record.problem
    assert record.holdings == _owners.Holdings()


def test_a_sealed_record_round_trips_and_is_bound_to_its_namespace_and_boot():
    holdings = _owners.Holdings({'app': frozenset([8080]), 'unnamed': frozenset([9000])}, frozenset([8080]))
    text = _ns_records.render(ME, 'b', holdings)
    assert _ns_records.parse(text, ME, 'b', 'x').holdings == holdings
    assert _ns_records.parse(text, ME, 'b', 'x').trust == 'sealed'
    # The same text under another namespace's name, or edited, is not trusted.
    other = dict(ME, cookie=None)
    assert _ns_records.parse(text, other, 'b', 'x').trust == 'unsealed'
    assert _ns_records.parse(text.replace('"8080"', '"1-65535"'), ME, 'b', 'x').trust == 'unsealed'
    assert _ns_records.parse(text, ME, 'another-boot', 'x').trust == 'stale'


def test_a_0_2_0_record_is_adopted_by_the_unnamed_owner():
    text = json.dumps({'owned': '8080-8081', 'boot_id': 'b', 'inode': ME['inode'], 'dev': 4, 'cookie': 77})
    record = _ns_records.parse(text, ME, 'b', 'x')
    assert record.trust == 'legacy'
    assert record.holdings == _owners.Holdings({'unnamed': frozenset([8080, 8081])}, frozenset([8080, 8081]))


def test_a_fifo_in_the_state_directory_never_blocks_a_read(state):
    os.mkfifo(state.full('owned-netns-77'))
    with pytest.raises(_state_dir.StateError) as info:
        state.read('owned-netns-77')
    assert 'is a FIFO, not a regular file; remove it' in str(info.value)


def test_sweep_removes_temporary_files_of_this_namespace_and_of_dead_runs(state):
    for name in ('.owned-netns-77.%d.tmp' % os.getppid(), '.owned-netns-5.%d.tmp' % os.getppid(),
                 '.owned-netns-6.999999999.tmp', 'owned-netns-5'):
        state.write(name, 'x')
    assert state.sweep(['owned-netns-77']) == ['.owned-netns-6.999999999.tmp', '.owned-netns-77.%d.tmp' % os.getppid()]
    assert sorted(state.names()) == ['.owned-netns-5.%d.tmp' % os.getppid(), 'owned-netns-5']


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
