# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's boot section on a private tree: defaults, winner, overridden, hidden and masked lines, invalid values."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.portguard.ephemeral.plugins.module_utils import _boot_check, _kernel

RES = _kernel.RESERVED_KEY
RNG = _kernel.RANGE_KEY


def boot_report(root, warnings):
    """(the report, {key: parsed boot value}) as local_ports_info computes them."""
    view = _boot_check.outlook(root, 1024)
    return _boot_check.report(view, root, warnings), {RNG: view.boot_range, RES: view.boot_reserved}


def _put(root, rel, text):
    full = os.path.join(str(root), rel)
    if not os.path.isdir(os.path.dirname(full)):
        os.makedirs(os.path.dirname(full))
    with open(full, 'w') as handle:
        handle.write(text)


def test_boot_report_defaults_when_no_file_sets_the_keys(tmp_path):
    warnings = []
    report, values = boot_report(str(tmp_path), warnings)
    assert values == {RNG: (32768, 60999), RES: frozenset()}
    assert report[RNG]['source'] == 'kernel default' and report[RNG]['value'] == '32768 60999'
    assert report[RES]['source'] == 'kernel default' and report[RES]['value'] == ''
    assert warnings == []


def test_boot_report_winner_overridden_hidden_masked(tmp_path):
    _put(tmp_path, 'usr/lib/sysctl.d/10-a.conf', '%s = 8080\n' % RES)
    _put(tmp_path, 'etc/sysctl.d/20-b.conf', '# b\n%s = 9000-9001\n' % RES)
    _put(tmp_path, 'usr/lib/sysctl.d/20-b.conf', '%s = 7000\n' % RES)
    _put(tmp_path, 'usr/lib/sysctl.d/30-c.conf', '%s = 6000\n' % RES)
    os.makedirs(str(tmp_path / 'etc/sysctl.d'), exist_ok=True)
    os.symlink('/dev/null', str(tmp_path / 'etc/sysctl.d/30-c.conf'))
    warnings = []
    report, values = boot_report(str(tmp_path), warnings)
    assert values[RES] == frozenset([9000, 9001])
    item = report[RES]
    assert (item['file'], item['line'], item['source']) == ('/etc/sysctl.d/20-b.conf', 2, 'file')
    assert [(e['file'], e['status'], e['by']) for e in item['entries']] == [
        ('/usr/lib/sysctl.d/10-a.conf', 'overridden', '/etc/sysctl.d/20-b.conf'),
        ('/etc/sysctl.d/20-b.conf', 'winner', None),
        ('/usr/lib/sysctl.d/20-b.conf', 'hidden', '/etc/sysctl.d/20-b.conf'),
        ('/usr/lib/sysctl.d/30-c.conf', 'masked', '/etc/sysctl.d/30-c.conf'),
    ]
    assert item['masked'] == [{'file': '/etc/sysctl.d/30-c.conf', 'hides': ['/usr/lib/sysctl.d/30-c.conf']}]


def test_boot_report_invalid_value_falls_back_to_the_default(tmp_path):
    _put(tmp_path, 'etc/sysctl.d/50-x.conf', '%s = 8080, 8081\n%s = 60999 40000\n' % (RES, RNG))
    warnings = []
    report, values = boot_report(str(tmp_path), warnings)
    assert values == {RNG: (32768, 60999), RES: frozenset()}
    assert report[RES]['valid'] is False and 'white space' in report[RES]['error']
    assert report[RNG]['valid'] is False and 'reversed' in report[RNG]['error']
    assert len(warnings) == 2 and all('kernel default' in w for w in warnings)


def test_the_outlook_follows_the_boot_chain_tuned_after_systemd_sysctl(tmp_path):
    """tuned's profile sets the range after systemd-sysctl: the values drift and verdicts use are tuned's."""
    root = str(tmp_path)
    for rel, text in (('/usr/sbin/tuned', ''), ('/etc/tuned/tuned-main.conf', 'reapply_sysctl = 1\n'),
                      ('/etc/tuned/active_profile', 'oracle\n'),
                      ('/etc/tuned/oracle/tuned.conf', '[sysctl]\n%s = 9000 65499\n' % RNG),
                      ('/etc/sysctl.d/zz-portguard-ephemeral.conf', '%s = 9100\n' % RES)):
        _put(root, rel.lstrip('/'), text)
    os.makedirs(os.path.join(root, 'etc/systemd/system/multi-user.target.wants'))
    os.symlink('/lib/systemd/system/tuned.service',
               os.path.join(root, 'etc/systemd/system/multi-user.target.wants/tuned.service'))
    warnings = []
    view = _boot_check.outlook(root, 1024)
    report = _boot_check.report(view, root, warnings)
    assert [a['name'] for a in view.chain] == ['systemd-sysctl', 'tuned']
    assert report[RNG]['value'] == '32768 60999'   # boot stays systemd-sysctl's answer
    assert report[RNG]['after_boot'] == {'value': '9000 65499', 'file': '/etc/tuned/oracle/tuned.conf', 'line': 2,
                                         'profile': 'oracle', 'applier': 'tuned', 'note': None}
    assert report[RES]['after_boot']['applier'] == 'tuned'   # re-applied by tuned, our file
    assert (view.boot_range, view.boot_reserved) == ((9000, 65499), frozenset([9100]))
    assert warnings == []
