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
