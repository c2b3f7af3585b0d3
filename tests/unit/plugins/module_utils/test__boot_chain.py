# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot chain on private trees: which programs apply sysctls at boot, and the value after all of them.

What tuned and procps really do is checked against the programs themselves in
tests/integration/test_sysctl_oracle.py; here: detection, tuned's files
(profiles, includes, tuned-main.conf), and the words of the override checks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _boot_chain, _kernel, _tuned

RES = 'net.ipv4.ip_local_reserved_ports'
RNG = 'net.ipv4.ip_local_port_range'
KEYS = [RNG, RES]
OURS = '/etc/sysctl.d/zz-portguard-ephemeral.conf'
DEFAULTS = {RNG: '32768 60999', RES: ''}


class Host(object):
    """A fake / to lay out an init system, tuned and sysctl files in."""

    def __init__(self, root):
        self.root = str(root)

    def put(self, rel, text=''):
        full = os.path.join(self.root, rel.lstrip('/'))
        if not os.path.isdir(os.path.dirname(full)):
            os.makedirs(os.path.dirname(full))
        with open(full, 'w') as handle:
            handle.write(text)

    def link(self, rel, target):
        full = os.path.join(self.root, rel.lstrip('/'))
        if not os.path.isdir(os.path.dirname(full)):
            os.makedirs(os.path.dirname(full))
        os.symlink(target, full)

    def systemd(self):
        self.link('/sbin/init', '/lib/systemd/systemd')
        self.put('/lib/systemd/systemd')
        return self

    def sysvinit(self):
        self.put('/sbin/init')
        self.put('/etc/init.d/procps', 'DAEMON=/sbin/sysctl\n$DAEMON $QUIET_SYSCTL --system\n')
        self.link('/etc/rcS.d/S08procps', '../init.d/procps')
        return self

    def tuned(self, profile_lines=(), reapply=None, profile='pg', version=(2, 20)):
        self.put('/usr/sbin/tuned')
        self.put('/usr/lib/python3/dist-packages/tuned/version.py',
                 'TUNED_VERSION_MAJOR = %d\nTUNED_VERSION_MINOR = %d\n' % version)
        self.link('/etc/systemd/system/multi-user.target.wants/tuned.service', '/lib/systemd/system/tuned.service')
        self.put(_tuned.MAIN_CONF, 'daemon = 1\n' + ('' if reapply is None else 'reapply_sysctl = %s\n' % reapply))
        self.put(_tuned.ACTIVE_PROFILE, profile + '\n')
        self.put('/etc/tuned/%s/tuned.conf' % profile, '[main]\nsummary=x\n[sysctl]\n' + ''.join(
            line + '\n' for line in profile_lines))
        return self

    def after(self, replace=None):
        appliers = _boot_chain.detect(self.root)
        return appliers, _boot_chain.after_boot(appliers, KEYS, self.root, accepts, DEFAULTS, replace=replace)

    def problems(self, text='%s = 8080\n' % RES):
        appliers, after = self.after(replace=(OURS, text))
        return _boot_chain.override_problems(appliers, after, [RES], OURS, self.root)


def accepts(key, value):
    return _kernel.accepts(key, value, 1024)


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


# --------------------------------------------------------------------------- detection

def test_systemd_host_without_tuned(host):
    appliers = _boot_chain.detect(host.systemd().root)
    assert [a['name'] for a in appliers] == ['systemd-sysctl']
    assert 'systemd' in appliers[0]['source']


def test_no_init_system_assumes_systemd_sysctl_and_says_so(host):
    appliers = _boot_chain.detect(host.root)
    assert appliers[0]['name'] == 'systemd-sysctl' and 'assumed' in appliers[0]['source']


def test_running_systemd_wins_over_the_init_link(host):
    host.sysvinit()
    os.makedirs(os.path.join(host.root, 'run/systemd/system'))
    assert _boot_chain.detect(host.root)[0]['name'] == 'systemd-sysctl'


def test_masked_systemd_sysctl_applies_nothing(host):
    host.systemd().link('/etc/systemd/system/systemd-sysctl.service', '/dev/null')
    assert _boot_chain.detect(host.root) == []
    assert 'masked' in _boot_chain.boot_note(host.root)


def test_sysvinit_runs_the_procps_init_script(host):
    appliers = _boot_chain.detect(host.sysvinit().root)
    assert appliers[0]['name'] == 'procps' and '/etc/rcS.d/S08procps' in appliers[0]['source']


def test_debian_openrc_runs_the_procps_init_script_from_its_runlevels(host):
    host.put('/sbin/init')
    host.put('/sbin/openrc')
    host.put('/etc/init.d/procps', 'sysctl -q --system\n')
    host.link('/etc/runlevels/sysinit/procps', '/etc/init.d/procps')
    assert _boot_chain.detect(host.root)[0]['name'] == 'procps'


def test_alpine_openrc_sysctl_is_reported_unmodelled(host):
    host.link('/sbin/init', '/bin/busybox')
    host.put('/bin/busybox')
    host.put('/sbin/openrc')
    host.put('/etc/init.d/sysctl', '#!/sbin/openrc-run\n')
    host.link('/etc/runlevels/boot/sysctl', '/etc/init.d/sysctl')
    appliers, after = host.after()
    assert appliers[0]['name'] == 'openrc-sysctl' and appliers[0]['modelled'] is False
    assert after[RES]['value'] is None
    assert _boot_chain.unknown_warnings(after, [RES]) and host.problems() == []


def test_sysvinit_without_an_enabled_procps_script_applies_nothing(host):
    host.put('/sbin/init')
    assert _boot_chain.detect(host.root) == []
    assert host.problems() == ['%s would not be set at boot by %s: %s' % (RES, OURS, _boot_chain.boot_note(host.root))]


def test_tuned_enabled_with_its_profile_and_reapply(host):
    host.systemd().tuned(reapply='0')
    tuned = _boot_chain.detect(host.root)[1]
    assert tuned == {'name': 'tuned', 'source': '/etc/systemd/system/multi-user.target.wants/tuned.service',
                     'modelled': True, 'profile': 'pg', 'reapply_sysctl': False, 'version': '2.20', 'note': None}


def test_tuned_installed_but_not_enabled_is_not_in_the_chain(host):
    host.systemd().tuned()
    os.unlink(os.path.join(host.root, 'etc/systemd/system/multi-user.target.wants/tuned.service'))
    assert [a['name'] for a in _boot_chain.detect(host.root)] == ['systemd-sysctl']


def test_tuned_without_an_active_profile_is_unmodelled_but_its_reapply_is_known(host):
    host.systemd().tuned(['%s = 1' % RES])
    os.unlink(os.path.join(host.root, 'etc/tuned/active_profile'))
    host.put('/etc/sysctl.d/50-x.conf', '%s = 5\n' % RES)
    appliers, after = host.after()
    assert appliers[1]['modelled'] is False and 'recommends' in appliers[1]['note']
    assert after[RES]['value'] == '5' and after[RNG]['value'] is None


def test_a_profile_tuned_cannot_parse_applies_nothing(host):
    host.systemd().tuned(['-%s' % RES])
    appliers, after = host.after()
    assert 'tuned applies nothing' in appliers[1]['note']
    assert after[RES]['applier'] is None


# --------------------------------------------------------------------------- the value after the chain

def test_tuned_reapplies_sysctl_conf_after_our_file(host):
    host.systemd().tuned(['%s = 9000 65499' % RNG])
    host.link('/etc/sysctl.d/99-sysctl.conf', '../sysctl.conf')
    host.put('/etc/sysctl.conf', '# admin\n%s = 7000\n' % RES)
    _appliers, after = host.after(replace=(OURS, '%s = 8080\n' % RES))
    assert _boot_chain.public(after[RES]) == {'value': '7000', 'file': '/etc/sysctl.conf', 'line': 2,
                                              'profile': None, 'applier': 'tuned', 'note': None}
    assert _boot_chain.public(after[RNG]) == {'value': '9000 65499', 'file': '/etc/tuned/pg/tuned.conf', 'line': 4,
                                              'profile': 'pg', 'applier': 'tuned', 'note': None}
    problems = host.problems()
    assert len(problems) == 1
    assert '/etc/sysctl.conf line 2 sets %s = 7000' % RES in problems[0]
    assert 'reapply_sysctl = 0' in problems[0] and 'tuned (profile pg)' in problems[0]


def test_included_profiles_merge_and_the_child_wins(host):
    host.systemd().tuned(['%s = 1' % RES], profile='parent')
    host.put('/etc/tuned/child/tuned.conf', '[main]\ninclude = parent\n[sysctl]\n%s = 2 # inline\n' % RES)
    host.put(_tuned.ACTIVE_PROFILE, 'child\n')
    host.put(_tuned.MAIN_CONF, 'reapply_sysctl = off\n')
    _appliers, after = host.after()
    assert (after[RES]['value'], after[RES]['profile'], after[RES]['line']) == ('2', 'child', 4)


def test_profile_dirs_prefer_etc_and_the_new_layout_from_2_24(host):
    host.systemd().tuned(['%s = 1' % RES], version=(2, 24))
    host.put('/etc/tuned/profiles/pg/tuned.conf', '[sysctl]\n%s = 3\n' % RES)
    host.put('/usr/lib/tuned/profiles/pg/tuned.conf', '[sysctl]\n%s = 4\n' % RES)
    assert host.after()[1][RES]['value'] == '3'


def test_slash_keys_reach_the_kernel_before_tuned_2_22_only(host):
    host.systemd().tuned(version=(2, 20))
    host.put('/etc/sysctl.d/50-x.conf', 'net/ipv4/ip_local_reserved_ports = 6\n')
    assert host.after()[1][RES]['value'] == '6'
    host.put('/usr/lib/python3/dist-packages/tuned/version.py', 'TUNED_VERSION_MAJOR = 2\nTUNED_VERSION_MINOR = 24\n')
    assert host.after()[1][RES]['applier'] == 'systemd-sysctl'


def test_profile_line_wins_without_reapply_and_the_message_says_what_to_do(host):
    host.systemd().tuned(['%s = 1' % RES], reapply='0')
    problems = host.problems()
    assert len(problems) == 1
    assert problems[0].startswith('/etc/tuned/pg/tuned.conf line 4 sets %s = 1 in the tuned profile pg' % RES)
    assert 'remove that line from the profile' in problems[0] and 'reapply_sysctl = 1' in problems[0]


def test_with_reapply_our_file_beats_the_profile(host):
    host.systemd().tuned(['%s = 1' % RES])
    assert host.problems() == []


def test_procps_at_boot_applies_sysctl_conf_last(host):
    host.sysvinit()
    host.link('/etc/sysctl.d/99-sysctl.conf', '../sysctl.conf')
    host.put('/etc/sysctl.conf', '%s = 7000\n' % RES)
    problems = host.problems()
    assert len(problems) == 1 and problems[0].startswith('/etc/sysctl.conf line 1 sets %s = 7000: at every boot' % RES)


def test_procps_at_boot_truncates_a_long_list_of_ours(host):
    host.sysvinit()
    value = ','.join(str(port) for port in range(10000, 12000, 2))
    problems = host.problems('%s = %s\n' % (RES, value))
    assert len(problems) == 1 and 'keeps the first 4091 of its 5999 bytes' in problems[0]
    assert host.after(replace=(OURS, '%s = %s\n' % (RES, value)))[1][RES]['value'] == value[:4091]


def test_first_write_keeps_whole_entries_only():
    """Measured on Linux 6.18: a single port kept when it ends by byte 4093, a range by byte 4094."""
    assert _boot_chain.first_write('1,' * 2044 + '40000,5')[0].endswith(',1,40000')
    assert _boot_chain.first_write('11,' + '1,' * 2043 + '40000,5')[0].endswith(',1,1')
    assert _boot_chain.first_write('11,' + '1,' * 2040 + '40000-40001,5')[0].endswith(',40000-40001')
    assert _boot_chain.first_write('1,' * 2042 + '40000-40001,5')[0].endswith(',1,1')


# --------------------------------------------------------------------------- tuned's configparser

def test_parse_ini_like_configparser():
    text = '[main]\nsummary = a # c\n[sysctl]\nk = 1\n  2\n\n  3\n; x\nk2=v#not a comment\n[sysctl]\nk = 4\n'
    assert _tuned.parse_ini(text, 'f') == [('main', [('summary', 'a', 2)]),
                                           ('sysctl', [('k', '4', 11), ('k2', 'v#not a comment', 9)])]
    assert _tuned.parse_ini('k = 1\n', 'f', header='main') == [('main', [('k', '1', 1)])]
    with pytest.raises(_tuned.ConfigError):
        _tuned.parse_ini('k = 1\n', 'f')
    with pytest.raises(_tuned.ConfigError):
        _tuned.parse_ini('[s]\nno equals\n', 'f')


def test_a_bad_reapply_setting_stops_tuned(host):
    host.systemd().tuned(['%s = 1' % RES], reapply='maybe')
    appliers, after = host.after()
    assert appliers[1]['reapply_sysctl'] is None and 'does not start' in appliers[1]['note']
    assert after[RES]['applier'] is None
