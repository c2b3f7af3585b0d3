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

from ansible_collections.portguard.ephemeral.plugins.module_utils import _managed_file
from ansible_collections.portguard.ephemeral.plugins.module_utils._kernel import RANGE_KEY as RNG, RESERVED_KEY as RES


def test_render_and_read_managed_round_trip(tree):
    text = _managed_file.render([(RNG, '40000 50001'), (RES, '8080-8082,9000')], '8080-8082')
    assert text.startswith(_managed_file.MANAGED_MARKER + '\n')
    assert text.endswith('\n%s = 40000 50001\n%s = 8080-8082,9000\n' % (RNG, RES))
    tree.put(_managed_file.DEFAULT_PATH, text)
    info = _managed_file.read(_managed_file.DEFAULT_PATH, tree.root)
    assert (info.exists, info.managed, info.text, info.values, info.owned, info.pending, info.boot_id) == (
        True, True, text, {RNG: '40000 50001', RES: '8080-8082,9000'}, '8080-8082', None, None)
    # The owned record is a comment: systemd-sysctl sees only the two keys.
    boot = tree.boot()
    assert boot[RES]['winner']['value'] == '8080-8082,9000'
    assert boot[RNG]['winner']['value'] == '40000 50001'


def test_render_with_nothing_owned(tree):
    text = _managed_file.render([(RES, '22')], '')
    tree.put('/etc/sysctl.d/x.conf', text)
    info = _managed_file.read('/etc/sysctl.d/x.conf', tree.root)
    assert info.owned == ''
    assert info.values == {RES: '22'}


def test_read_managed_missing_file(tree):
    info = _managed_file.read(_managed_file.DEFAULT_PATH, tree.root)
    assert (info.exists, info.managed, info.text, info.values, info.owned, info.pending, info.boot_id) == (
        False, False, '', {}, None, None, None)


def test_read_managed_foreign_file(tree):
    tree.put('/etc/sysctl.d/50-x.conf', '%s = 22\n' % RES)
    info = _managed_file.read('/etc/sysctl.d/50-x.conf', tree.root)
    assert info.exists is True
    assert info.managed is False
    assert info.owned is None
    assert info.values == {RES: '22'}


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


def test_render_pending_round_trip(tree):
    text = _managed_file.render([(RES, '22,8080')], '22', pending='8080', boot_id='b1')
    tree.put('/etc/sysctl.d/x.conf', text)
    info = _managed_file.read('/etc/sysctl.d/x.conf', tree.root)
    assert (info.owned, info.pending, info.boot_id) == ('22', '8080', 'b1')
    assert info.values == {RES: '22,8080'}


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
