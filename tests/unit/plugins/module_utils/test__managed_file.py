# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The managed file on a private tree: rendered and read back, atomic writes, links never written through."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _managed_file, _owners
from ansible_collections.portguard.ephemeral.plugins.module_utils._kernel import RANGE_KEY as RNG, RESERVED_KEY as RES


def fs(*ports):
    return frozenset(ports)


HOLDINGS = _owners.Holdings({'reserved_ports': fs(8080, 8081, 8082), 'billing': fs(9000)}, fs(8080, 8081, 8082))


def test_render_and_read_round_trip(tree):
    holdings = HOLDINGS
    text = _managed_file.render([(RNG, '40000 50001'), (RES, '8080-8082,9000')], holdings)
    assert text.startswith(_managed_file.MANAGED_MARKER + '\n')
    # A person reading the file sees which owner holds which ports.
    assert '#   billing: 9000\n#   reserved_ports: 8080-8082\n' in text
    tree.put(_managed_file.DEFAULT_PATH, text)
    info = _managed_file.read(_managed_file.DEFAULT_PATH, tree.root)
    assert (info.exists, info.managed, info.trust, info.values, info.holdings, info.pending, info.boot_id) == (
        True, True, 'sealed', {RNG: '40000 50001', RES: '8080-8082,9000'}, holdings, fs(), None)
    # The owners and the state are comments: systemd-sysctl sees only the two keys.
    boot = tree.boot()
    assert boot[RES]['winner']['value'] == '8080-8082,9000'
    assert boot[RNG]['winner']['value'] == '40000 50001'


EDITS = [
    ('a value line', lambda text: text.replace('= 8080-8082,9000', '= 1-65535')),
    ('an owner in the state', lambda text: text.replace('"billing":"9000"', '"billing":"1-65535"')),
    ('the owned set', lambda text: text.replace('"unowned":"9000"', '"unowned":""')),
    ('a truncated state', lambda text: text[:text.rindex('"seal"')] + '\n'),
]


@pytest.mark.parametrize('edit', [e[1] for e in EDITS], ids=[e[0] for e in EDITS])
def test_an_edited_file_is_never_trusted(tree, edit):
    text = _managed_file.render([(RES, '8080-8082,9000')], HOLDINGS)
    edited = edit(text)
    assert edited != text
    tree.put('/etc/sysctl.d/x.conf', edited)
    info = _managed_file.read('/etc/sysctl.d/x.conf', tree.root)
    assert info.trust == 'unsealed' and info.problem
    assert info.holdings == _owners.Holdings()


def test_a_0_2_0_file_is_adopted_by_the_unnamed_owner(tree):
    """0.2.0 wrote one owned set and persisted every live port, foreign ones too: all stay held, by unnamed."""
    tree.put('/etc/sysctl.d/zz-portguard-ephemeral.conf', '\n'.join([
        _managed_file.MANAGED_MARKER, '# Do not edit', _managed_file.LEGACY_OWNED_PREFIX + '36601,37601',
        '%s = 5000,36601,37601' % RES]) + '\n')
    info = _managed_file.read('/etc/sysctl.d/zz-portguard-ephemeral.conf', tree.root)
    assert info.trust == 'legacy'
    assert info.holdings == _owners.Holdings({'unnamed': fs(5000, 36601, 37601)}, fs(36601, 37601))


def test_render_pending_round_trip(tree):
    text = _managed_file.render([(RES, '22,8080')], _owners.Holdings({'a': fs(22, 8080)}, fs(22)), fs(8080), 'b1')
    tree.put('/etc/sysctl.d/x.conf', text)
    info = _managed_file.read('/etc/sysctl.d/x.conf', tree.root)
    assert (info.holdings.owned, info.pending, info.boot_id) == (fs(22), fs(8080), 'b1')
    assert info.values == {RES: '22,8080'}


def test_read_missing_file(tree):
    info = _managed_file.read(_managed_file.DEFAULT_PATH, tree.root)
    assert (info.exists, info.managed, info.text, info.values, info.trust) == (False, False, '', {}, 'none')


def test_read_foreign_file(tree):
    tree.put('/etc/sysctl.d/50-x.conf', '%s = 22\n' % RES)
    info = _managed_file.read('/etc/sysctl.d/50-x.conf', tree.root)
    assert (info.exists, info.managed, info.trust, info.values) == (True, False, 'none', {RES: '22'})


PATHS = [
    ('default', '/etc/sysctl.d/zz-portguard-ephemeral.conf', None),
    ('run', '/run/sysctl.d/zz-x.conf', None),
    ('usr-lib', '/usr/lib/sysctl.d/99-x.conf', None),
    ('double-slash', '/etc//sysctl.d/zz.conf', None),
    ('climbs-out', '/run/sysctl.d/../pg-escape/zz-pg.conf', 'climbs with'),
    ('tmp', '/tmp/zz.conf', 'not a *.conf file directly inside'),
    ('subdirectory', '/etc/sysctl.d/sub/zz.conf', 'not a *.conf file directly inside'),
    ('no-conf', '/etc/sysctl.d/zz-portguard', 'not a *.conf file directly inside'),
    ('hidden', '/etc/sysctl.d/.zz.conf', 'not a *.conf file directly inside'),
    ('sysctl-conf', '/etc/sysctl.conf', 'not a *.conf file directly inside'),
    ('newline', '/etc/sysctl.d/zz\nx.conf', 'control character'),
    ('tab', '/etc/sysctl.d/zz\tx.conf', 'control character'),
]


@pytest.mark.parametrize('path, words', [c[1:] for c in PATHS], ids=[c[0] for c in PATHS])
def test_check_path(path, words):
    refused = _managed_file.check_path(path)
    if words is None:
        assert refused is None
    else:
        assert words in refused and repr(path) in refused


def test_sweep_removes_temporary_files_of_dead_runs_only(tree):
    dead = tree.put('/etc/sysctl.d/.portguard-999999999-abc.tmp', 'x')
    alive = tree.put('/etc/sysctl.d/.portguard-%d-abc.tmp' % os.getppid(), 'x')
    other = tree.put('/etc/sysctl.d/.other.tmp', 'x')
    assert _managed_file.sweep(tree.root) == ['/etc/sysctl.d/.portguard-999999999-abc.tmp']
    assert not os.path.exists(dead) and os.path.exists(alive) and os.path.exists(other)


def test_write_atomic_creates_file_0644(tree):
    old = os.umask(0o077)
    try:
        _managed_file.write_atomic('/etc/sysctl.d/zz.conf', 'a = 1\n', root=tree.root)
    finally:
        os.umask(old)
    full = tree.path('/etc/sysctl.d/zz.conf')
    assert tree.read('/etc/sysctl.d/zz.conf') == 'a = 1\n'
    assert stat.S_IMODE(os.stat(full).st_mode) == 0o644
    assert os.listdir(os.path.dirname(full)) == ['zz.conf']


def test_write_atomic_mode_argument(tree):
    _managed_file.write_atomic('/run/x/state', 'x\n', mode=0o600, root=tree.root)
    assert stat.S_IMODE(os.stat(tree.path('/run/x/state')).st_mode) == 0o600


@pytest.mark.parametrize('target', ['../sysctl.conf', '../nowhere/new.conf'], ids=['to-a-file', 'dangling'])
def test_write_atomic_refuses_a_link(tree, target):
    """Issue 11 item 4: never write through a link, nor create a dangling link's target."""
    tree.put('/etc/sysctl.conf', 'old\n')
    link = tree.link('/etc/sysctl.d/99-sysctl.conf', target)
    with pytest.raises(OSError) as info:
        _managed_file.write_atomic('/etc/sysctl.d/99-sysctl.conf', 'new\n', root=tree.root)
    assert info.value.errno == errno.ELOOP
    assert os.path.islink(link)
    assert tree.read('/etc/sysctl.conf') == 'old\n'
    assert sorted(os.listdir(tree.path('/etc'))) == ['sysctl.conf', 'sysctl.d']
    assert sorted(os.listdir(tree.path('/etc/sysctl.d'))) == ['99-sysctl.conf']


def test_write_atomic_failure_leaves_old_file_and_no_temp(tree):
    tree.put('/etc/sysctl.d/zz.conf', 'old\n')
    with pytest.raises(UnicodeEncodeError):
        _managed_file.write_atomic('/etc/sysctl.d/zz.conf', 'bad \udc80\n', root=tree.root)
    assert tree.read('/etc/sysctl.d/zz.conf') == 'old\n'
    assert os.listdir(tree.path('/etc/sysctl.d')) == ['zz.conf']


def test_write_atomic_rename_failure_leaves_no_temp(tree, monkeypatch):
    tree.put('/etc/sysctl.d/zz.conf', 'old\n')

    def refuse(src, dst):
        raise OSError(30, 'Read-only file system')

    monkeypatch.setattr(_managed_file.os, 'rename', refuse)
    with pytest.raises(OSError):
        _managed_file.write_atomic('/etc/sysctl.d/zz.conf', 'new\n', root=tree.root)
    monkeypatch.undo()
    assert tree.read('/etc/sysctl.d/zz.conf') == 'old\n'
    assert os.listdir(tree.path('/etc/sysctl.d')) == ['zz.conf']
