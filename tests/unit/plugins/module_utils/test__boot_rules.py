# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot rules on a private tree (``root``): systemd-sysctl precedence and what procps ``sysctl --system`` leaves."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _boot_rules
from ansible_collections.portguard.ephemeral.plugins.module_utils._kernel import KEYS, RANGE_KEY as RNG, RESERVED_KEY as RES


def values(entries):
    return [(entry['file'], entry['line'], entry['value']) for entry in entries]


# --------------------------------------------------------------------------- file order and hiding

def test_files_are_ordered_by_name_across_directories(tree):
    tree.put('/etc/sysctl.d/50-a.conf', '')
    tree.put('/usr/lib/sysctl.d/10-b.conf', 'x = 1\n')
    tree.put('/run/sysctl.d/70-c.conf', 'x = 1\n')
    tree.put('/usr/local/lib/sysctl.d/30-d.conf', 'x = 1\n')
    tree.put('/etc/sysctl.d/99-z.conf', 'x = 1\n')
    tree.put('/etc/sysctl.d/README', 'x = 1\n')
    tree.put('/etc/sysctl.d/60-old.conf.dpkg-old', 'x = 1\n')
    assert tree.names() == ['/usr/lib/sysctl.d/10-b.conf', '/usr/local/lib/sysctl.d/30-d.conf',
                            '/etc/sysctl.d/50-a.conf', '/run/sysctl.d/70-c.conf', '/etc/sysctl.d/99-z.conf']


def test_later_file_name_wins_whatever_the_directory(tree):
    tree.put('/usr/lib/sysctl.d/90-vendor.conf', '%s = 9000\n' % RES)
    tree.put('/etc/sysctl.d/10-admin.conf', '%s = 8080\n' % RES)
    boot = tree.boot()
    assert values(boot[RES]['entries']) == [('/etc/sysctl.d/10-admin.conf', 1, '8080'),
                                            ('/usr/lib/sysctl.d/90-vendor.conf', 1, '9000')]
    assert boot[RES]['winner']['file'] == '/usr/lib/sysctl.d/90-vendor.conf'
    assert boot[RNG]['winner'] is None
    assert boot[RNG]['entries'] == []


def test_same_name_in_etc_hides_usr_lib(tree):
    tree.put('/usr/lib/sysctl.d/50-x.conf', '%s = 9000\n' % RES)
    tree.put('/run/sysctl.d/50-x.conf', '%s = 9001\n' % RES)
    tree.put('/etc/sysctl.d/50-x.conf', '%s = 8080\n' % RES)
    files = _boot_rules.boot_files(tree.root)
    assert [f['path'] for f in files] == ['/etc/sysctl.d/50-x.conf']
    assert files[0]['hides'] == ['/run/sysctl.d/50-x.conf', '/usr/lib/sysctl.d/50-x.conf']
    boot = tree.boot()
    assert values(boot[RES]['entries']) == [('/etc/sysctl.d/50-x.conf', 1, '8080')]


def test_run_hides_usr_lib(tree):
    tree.put('/usr/lib/sysctl.d/50-x.conf', '%s = 9000\n' % RES)
    tree.put('/run/sysctl.d/50-x.conf', '%s = 9001\n' % RES)
    assert values(tree.boot()[RES]['entries']) == [('/run/sysctl.d/50-x.conf', 1, '9001')]


def test_dev_null_link_masks(tree):
    tree.put('/usr/lib/sysctl.d/50-x.conf', '%s = 9000\n' % RES)
    tree.link('/etc/sysctl.d/50-x.conf', '/dev/null')
    files = _boot_rules.boot_files(tree.root)
    assert files[0]['masked'] is True
    boot = tree.boot()
    assert boot[RES]['entries'] == []
    assert boot[RES]['winner'] is None
    assert boot[RES]['masked'] == ['/etc/sysctl.d/50-x.conf']


def test_empty_file_masks(tree):
    tree.put('/usr/lib/sysctl.d/50-x.conf', '%s = 9000\n' % RES)
    tree.put('/etc/sysctl.d/50-x.conf', '')
    boot = tree.boot()
    assert boot[RES]['entries'] == []
    assert boot[RES]['masked'] == ['/etc/sysctl.d/50-x.conf']


def test_missing_directories_are_fine(tree):
    assert tree.names() == []
    boot = tree.boot()
    assert boot == dict((key, {'winner': None, 'entries': [], 'procps_override': None, 'masked': []}) for key in KEYS)


# --------------------------------------------------------------------------- /etc/sysctl.conf

def test_99_sysctl_conf_link_is_read_with_via(tree):
    tree.put('/etc/sysctl.conf', '# Debian default\n%s = 8080,8081\n' % RES)
    tree.link('/etc/sysctl.d/99-sysctl.conf', '../sysctl.conf')
    boot = tree.boot()
    winner = boot[RES]['winner']
    assert winner == {'file': '/etc/sysctl.d/99-sysctl.conf', 'line': 2, 'value': '8080,8081',
                      'via': '/etc/sysctl.conf', 'ignore_errors': False, 'glob': False}
    assert boot[RES]['procps_override'] is None


def test_sysctl_conf_not_linked_is_a_procps_override(tree):
    tree.put('/etc/sysctl.conf', '\n\n%s = 7000\n' % RES)
    tree.put('/etc/sysctl.d/zz-portguard-ephemeral.conf', '%s = 8080\n' % RES)
    boot = tree.boot()
    assert boot[RES]['winner']['file'] == '/etc/sysctl.d/zz-portguard-ephemeral.conf'
    assert boot[RES]['winner']['via'] is None
    assert boot[RES]['procps_override'] == {'file': '/etc/sysctl.conf', 'line': 3, 'value': '7000',
                                            'via': None, 'ignore_errors': False, 'glob': False}
    assert boot[RNG]['procps_override'] is None


def test_sysctl_conf_masked_link_is_still_a_procps_override(tree):
    tree.put('/etc/sysctl.conf', '%s = 7000\n' % RES)
    tree.link('/etc/sysctl.d/99-sysctl.conf', '/dev/null')
    boot = tree.boot()
    assert boot[RES]['entries'] == []
    assert boot[RES]['procps_override']['value'] == '7000'


# --------------------------------------------------------------------------- line syntax

def test_comments_blank_lines_and_line_numbers(tree):
    tree.put('/etc/sysctl.d/50-x.conf', '\n'.join([
        '# %s = 1' % RES,
        '; %s = 2' % RES,
        '   # indented comment',
        '',
        'not an assignment',
        '  %s   =   8080-8082 , 9000  ' % RES,
        '%s=40000 50001' % RNG,
    ]) + '\n')
    boot = tree.boot()
    assert values(boot[RES]['entries']) == [('/etc/sysctl.d/50-x.conf', 6, '8080-8082 , 9000')]
    assert values(boot[RNG]['entries']) == [('/etc/sysctl.d/50-x.conf', 7, '40000 50001')]


def test_dash_prefix_sets_ignore_errors(tree):
    tree.put('/etc/sysctl.d/50-x.conf', '-%s = 8080\n' % RES)
    entry = tree.boot()[RES]['winner']
    assert entry['ignore_errors'] is True
    assert entry['value'] == '8080'


def test_key_with_slashes(tree):
    tree.put('/etc/sysctl.d/50-x.conf', 'net/ipv4/ip_local_reserved_ports = 8080\n')
    assert tree.boot()[RES]['winner']['value'] == '8080'


@pytest.mark.parametrize('key, normal', [
    ('net.ipv4.ip_local_reserved_ports', 'net.ipv4.ip_local_reserved_ports'),
    ('net/ipv4/ip_local_reserved_ports', 'net.ipv4.ip_local_reserved_ports'),
    ('  net/ipv4/x ', 'net.ipv4.x'),
    # The first separator decides: a dot first keeps slashes (interface names like eth0/1 stay).
    ('net.ipv4.conf.enp3s0/200.forwarding', 'net.ipv4.conf.enp3s0/200.forwarding'),
])
def test_normalize_key(key, normal):
    assert _boot_rules.normalize_key(key) == normal


def test_parse_lines_yields_number_key_value_ignore():
    text = '# c\nnet/ipv4/a = 1\n-net.ipv4.b=2\n; c\nc = \n'
    assert list(_boot_rules.parse_lines(text)) == [(2, 'net.ipv4.a', '1', False), (3, 'net.ipv4.b', '2', True),
                                                   (5, 'c', '', False)]


# Glob precedence checked against systemd-sysctl 252 (--prefix, inside `unshare --net`):
# an explicit line beats a glob whatever the order, and the last explicit line
# (an assignment or a "-key" exclusion) decides.

@pytest.mark.parametrize('pattern', [
    'net.ipv4.ip_local_*_ports', 'net.ipv4.ip_local_reserved_p?rts', 'net.ipv4.ip_local_[r]eserved_ports',
    'net.*.ip_local_reserved_ports', 'net/ipv4/ip_local_reserved_*',
])
def test_glob_key_matches(tree, pattern):
    tree.put('/etc/sysctl.d/50-x.conf', '%s = 8080\n' % pattern)
    winner = tree.boot()[RES]['winner']
    assert winner['value'] == '8080'
    assert winner['glob'] is True


@pytest.mark.parametrize('pattern', ['net.*', 'net.ipv4.*.x', '*.ip_local_reserved_ports', 'net.ipv4.ip_local_port*x'])
def test_glob_does_not_cross_dots(tree, pattern):
    tree.put('/etc/sysctl.d/50-x.conf', '%s = 8080\n' % pattern)
    assert tree.boot()[RES]['entries'] == []


def test_glob_matches_only_its_keys(tree):
    tree.put('/etc/sysctl.d/50-x.conf', 'net.ipv4.ip_local_*_ports = 8080\n')
    assert tree.boot()[RNG]['winner'] is None


@pytest.mark.parametrize('files, winner', [
    # (file name, text) in any order; the winner's file or None
    ([('50-explicit.conf', '{res} = 8080'), ('90-glob.conf', 'net.ipv4.ip_local_reserved_p?rts = 9000')],
     '50-explicit.conf'),
    ([('10-explicit.conf', '{res} = 8080'), ('90-glob.conf', 'net.ipv4.ip_local_* = 9000')], '10-explicit.conf'),
    ([('10-glob.conf', 'net.ipv4.ip_local_* = 9000'), ('90-explicit.conf', '{res} = 8080')], '90-explicit.conf'),
    ([('50-glob.conf', 'net.ipv4.ip_local_* = 9000\n-{res}')], None),
    ([('10-explicit.conf', '{res} = 8080'), ('20-exclude.conf', '-{res}')], None),
    ([('10-explicit.conf', '{res} = 8080'), ('20-exclude.conf', '-{res}'), ('90-glob.conf', 'net.ipv4.ip_local_* = 1')],
     None),
    ([('10-exclude.conf', '-{res}'), ('20-explicit.conf', '{res} = 8080')], '20-explicit.conf'),
    ([('50-a.conf', 'net.ipv4.ip_local_* = 1'), ('60-b.conf', 'net.ipv4.*_reserved_ports = 2')], '60-b.conf'),
    ([('50-x.conf', '{res} = 1\n-{res}\n{res} = 2')], '50-x.conf'),
])
def test_glob_and_explicit_precedence(tree, files, winner):
    for name, text in files:
        tree.put('/etc/sysctl.d/' + name, text.format(res=RES) + '\n')
    boot = tree.boot()
    if winner is None:
        assert boot[RES]['winner'] is None
    else:
        assert boot[RES]['winner']['file'] == '/etc/sysctl.d/' + winner
    assert len(boot[RES]['entries']) == sum(1 for _n, text in files for line in text.split('\n') if '=' in line)


def test_exclusion_lines_are_not_assignments():
    text = '-net.ipv4.a\n-net/ipv4/b\n-c = 1\n- \n'
    assert list(_boot_rules.parse_exclusions(text)) == [(1, 'net.ipv4.a'), (2, 'net.ipv4.b')]
    assert list(_boot_rules.parse_lines(text)) == [(3, 'c', '1', True)]


# --------------------------------------------------------------------------- replace=(path, text)

def test_replace_new_file_is_included_in_order(tree):
    tree.put('/etc/sysctl.d/99-later.conf', '%s = 9000\n' % RES)
    boot = tree.boot(replace=('/etc/sysctl.d/50-ours.conf', '%s = 8080\n' % RES))
    assert values(boot[RES]['entries']) == [('/etc/sysctl.d/50-ours.conf', 1, '8080'),
                                            ('/etc/sysctl.d/99-later.conf', 1, '9000')]
    assert not os.path.exists(tree.path('/etc/sysctl.d/50-ours.conf'))


def test_replace_existing_file_uses_the_new_text(tree):
    tree.put('/etc/sysctl.d/zz-portguard-ephemeral.conf', '%s = 1\n' % RES)
    boot = tree.boot(replace=('/etc/sysctl.d/zz-portguard-ephemeral.conf', '%s = 8080\n' % RES))
    assert values(boot[RES]['entries']) == [('/etc/sysctl.d/zz-portguard-ephemeral.conf', 1, '8080')]
    assert tree.read('/etc/sysctl.d/zz-portguard-ephemeral.conf') == '%s = 1\n' % RES


def test_replace_through_the_99_sysctl_conf_link(tree):
    tree.put('/etc/sysctl.conf', '%s = 1\n' % RES)
    tree.link('/etc/sysctl.d/99-sysctl.conf', '../sysctl.conf')
    boot = tree.boot(replace=('/etc/sysctl.conf', '%s = 8080\n' % RES))
    assert boot[RES]['winner']['value'] == '8080'
    assert boot[RES]['winner']['via'] == '/etc/sysctl.conf'
    assert boot[RES]['procps_override'] is None


def test_replace_unlinked_sysctl_conf_only_changes_the_procps_view(tree):
    tree.put('/etc/sysctl.conf', '%s = 1\n' % RES)
    boot = tree.boot(replace=('/etc/sysctl.conf', '%s = 8080\n' % RES))
    assert boot[RES]['winner'] is None
    assert boot[RES]['procps_override']['value'] == '8080'


def test_replace_in_etc_hides_the_same_name_in_usr_lib(tree):
    tree.put('/usr/lib/sysctl.d/50-x.conf', '%s = 9000\n' % RES)
    boot = tree.boot(replace=('/etc/sysctl.d/50-x.conf', '%s = 8080\n' % RES))
    assert values(boot[RES]['entries']) == [('/etc/sysctl.d/50-x.conf', 1, '8080')]


def test_replace_in_usr_lib_is_hidden_by_etc(tree):
    tree.put('/etc/sysctl.d/50-x.conf', '%s = 9000\n' % RES)
    boot = tree.boot(replace=('/usr/lib/sysctl.d/50-x.conf', '%s = 8080\n' % RES))
    assert values(boot[RES]['entries']) == [('/etc/sysctl.d/50-x.conf', 1, '9000')]


def test_replace_outside_sysctl_dirs_is_not_read(tree):
    boot = tree.boot(replace=('/etc/portguard.conf', '%s = 8080\n' % RES))
    assert boot[RES]['entries'] == []


# --------------------------------------------------------------------------- loaded_at_boot

def test_loaded_new_file_in_etc(tree):
    assert _boot_rules.loaded_at_boot('/etc/sysctl.d/zz-portguard-ephemeral.conf', tree.root) == (
        True, 'read from /etc/sysctl.d')


def test_loaded_existing_file(tree):
    tree.put('/run/sysctl.d/50-x.conf', 'a = 1\n')
    assert _boot_rules.loaded_at_boot('/run/sysctl.d/50-x.conf', tree.root) == (True, 'read as /run/sysctl.d/50-x.conf')


def test_loaded_through_link(tree):
    tree.put('/etc/sysctl.conf', 'a = 1\n')
    tree.link('/etc/sysctl.d/99-sysctl.conf', '../sysctl.conf')
    assert _boot_rules.loaded_at_boot('/etc/sysctl.conf', tree.root) == (True, 'read as /etc/sysctl.d/99-sysctl.conf')


def test_not_loaded_sysctl_conf_without_link(tree):
    tree.put('/etc/sysctl.conf', 'a = 1\n')
    loaded, reason = _boot_rules.loaded_at_boot('/etc/sysctl.conf', tree.root)
    assert loaded is False
    assert 'not in a directory systemd-sysctl reads' in reason


def test_not_loaded_wrong_suffix(tree):
    loaded, reason = _boot_rules.loaded_at_boot('/etc/sysctl.d/ports.cfg', tree.root)
    assert loaded is False
    assert 'does not end in .conf' in reason


def test_not_loaded_masked_by_etc(tree):
    tree.link('/etc/sysctl.d/50-x.conf', '/dev/null')
    loaded, reason = _boot_rules.loaded_at_boot('/usr/lib/sysctl.d/50-x.conf', tree.root)
    assert loaded is False
    assert reason == '/etc/sysctl.d/50-x.conf masks /usr/lib/sysctl.d/50-x.conf'


def test_not_loaded_file_is_itself_masked(tree):
    tree.put('/etc/sysctl.d/50-x.conf', '')
    loaded, reason = _boot_rules.loaded_at_boot('/etc/sysctl.d/50-x.conf', tree.root)
    assert loaded is False
    assert reason == '/etc/sysctl.d/50-x.conf is masked (empty or linked to /dev/null)'


def test_not_loaded_hidden_by_same_name_in_etc(tree):
    tree.put('/etc/sysctl.d/50-x.conf', 'a = 1\n')
    loaded, reason = _boot_rules.loaded_at_boot('/usr/lib/sysctl.d/50-x.conf', tree.root)
    assert loaded is False
    assert reason == '/etc/sysctl.d/50-x.conf has the same name and hides /usr/lib/sysctl.d/50-x.conf'


def test_new_file_in_etc_is_loaded_over_same_name_in_usr_lib(tree):
    tree.put('/usr/lib/sysctl.d/50-x.conf', 'a = 1\n')
    assert _boot_rules.loaded_at_boot('/etc/sysctl.d/50-x.conf', tree.root)[0] is True


def test_new_file_in_etc_is_loaded_over_masked_same_name_in_usr_lib(tree):
    tree.link('/usr/lib/sysctl.d/50-x.conf', '/dev/null')
    assert _boot_rules.loaded_at_boot('/etc/sysctl.d/50-x.conf', tree.root)[0] is True


# --------------------------------------------------------------------------- procps "sysctl --system"
# Rules measured with procps-ng 4.0.2 (Debian 12) and 4.0.4 (Debian 13), same results; the
# integration test tests/integration/test_sysctl_oracle.py checks generated trees against both.

def system(tree, keys=None, replace=None, accepts=None):
    return _boot_rules.sysctl_system_config(keys or KEYS, tree.root, replace=replace, accepts=accepts)


def where(entry):
    return None if entry is None else (entry['file'], entry['line'], entry['value'])


def test_sysctl_system_applies_linked_sysctl_conf_again_last(tree):
    tree.put('etc/sysctl.conf', '# admin\n%s = 7000\n' % RES)
    tree.link('etc/sysctl.d/99-sysctl.conf', '../sysctl.conf')
    tree.put('etc/sysctl.d/zz-portguard-ephemeral.conf', '%s = 8080\n' % RES)
    assert where(tree.boot()[RES]['winner']) == ('/etc/sysctl.d/zz-portguard-ephemeral.conf', 1, '8080')
    result = system(tree)[RES]
    assert where(result['winner']) == ('/etc/sysctl.conf', 2, '7000')
    assert [(e['file'], e['via']) for e in result['entries']] == [
        ('/etc/sysctl.d/99-sysctl.conf', '/etc/sysctl.conf'),
        ('/etc/sysctl.d/zz-portguard-ephemeral.conf', None),
        ('/etc/sysctl.conf', None)]
    # The same after a write that replaces our file's text.
    after = system(tree, replace=('/etc/sysctl.d/zz-portguard-ephemeral.conf', '%s = 9090\n' % RES))[RES]
    assert [e['value'] for e in after['entries']] == ['7000', '9090', '7000']


def test_sysctl_system_without_sysctl_conf(tree):
    # Debian 13 ships neither /etc/sysctl.conf nor the 99-sysctl.conf link; a dangling link reads nothing.
    tree.link('etc/sysctl.d/99-sysctl.conf', '../sysctl.conf')
    tree.put('etc/sysctl.d/50-a.conf', '%s = 8080\n' % RES)
    assert where(system(tree)[RES]['winner']) == ('/etc/sysctl.d/50-a.conf', 1, '8080')
    assert system(tree)[RNG] == {'winner': None, 'entries': [], 'refused': []}


def test_sysctl_system_directory_order_and_hidden_files(tree):
    tree.put('etc/sysctl.d/50-a.conf', '%s = 1\n' % RES)
    tree.put('run/sysctl.d/50-a.conf', '%s = 2\n' % RES)
    tree.put('usr/local/lib/sysctl.d/60-b.conf', '%s = 3\n' % RES)
    tree.put('usr/lib/sysctl.d/60-b.conf', '%s = 4\n' % RES)
    tree.put('lib/sysctl.d/70-c.conf', '%s = 5\n' % RES)
    tree.put('run/sysctl.d/.hidden.conf', '%s = 6\n' % RES)
    entries = system(tree)[RES]['entries']
    assert [(e['file'], e['value']) for e in entries] == [
        ('/run/sysctl.d/.hidden.conf', '6'), ('/etc/sysctl.d/50-a.conf', '1'),
        ('/usr/local/lib/sysctl.d/60-b.conf', '3'), ('/lib/sysctl.d/70-c.conf', '5')]
    # systemd-sysctl skips hidden files.
    assert '/run/sysctl.d/.hidden.conf' not in tree.names()


def test_sysctl_system_exclusion_only_blocks_globs(tree):
    tree.put('etc/sysctl.d/10-a.conf', '%s = 2002\n' % RES)
    tree.put('etc/sysctl.d/20-b.conf', '-%s\n' % RES)
    assert tree.boot()[RES]['winner'] is None               # systemd-sysctl: not set
    assert where(system(tree)[RES]['winner']) == ('/etc/sysctl.d/10-a.conf', 1, '2002')
    tree.put('etc/sysctl.d/10-a.conf', 'net.ipv4.ip_local_reserved_port? = 1001\n')
    assert system(tree)[RES]['winner'] is None


def test_sysctl_system_glob_never_beats_explicit(tree):
    tree.put('etc/sysctl.d/10-a.conf', '%s = 2002\n' % RES)
    tree.put('etc/sysctl.d/20-b.conf', 'net.ipv4.ip_local_reserved_port? = 1001\n')
    assert where(system(tree)[RES]['winner']) == ('/etc/sysctl.d/10-a.conf', 1, '2002')
    tree.put('etc/sysctl.d/10-a.conf', '# nothing\n')
    assert where(system(tree)[RES]['winner']) == ('/etc/sysctl.d/20-b.conf', 1, '1001')


def test_sysctl_system_refused_line_leaves_the_earlier_value(tree):
    tree.put('etc/sysctl.d/10-a.conf', '%s = 2002\n' % RES)
    tree.put('etc/sysctl.d/20-b.conf', '%s = "3003"\n' % RES)
    result = system(tree, accepts=lambda key, value: '"' not in value)[RES]
    assert where(result['winner']) == ('/etc/sysctl.d/10-a.conf', 1, '2002')
    assert [where(e) for e in result['refused']] == [('/etc/sysctl.d/20-b.conf', 1, '"3003"')]


def test_sysctl_system_masks_and_dangling_links_hide_the_name(tree):
    tree.put('etc/sysctl.d/10-a.conf', '%s = 2002\n' % RES)
    tree.put('usr/lib/sysctl.d/20-b.conf', '%s = 3003\n' % RES)
    tree.put('usr/lib/sysctl.d/30-c.conf', '%s = 4004\n' % RES)
    tree.put('usr/lib/sysctl.d/40-d.conf', '%s = 5005\n' % RES)
    tree.link('etc/sysctl.d/20-b.conf', '/dev/null')
    tree.put('etc/sysctl.d/30-c.conf', '')
    tree.link('etc/sysctl.d/40-d.conf', '/nonexistent')
    assert where(system(tree)[RES]['winner']) == ('/etc/sysctl.d/10-a.conf', 1, '2002')
