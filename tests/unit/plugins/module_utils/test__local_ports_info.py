# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""local_ports_info's judgement: at_risk and reasons, drift as sets, the boot report on a private tree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _local_ports_info as info
from ansible_collections.portguard.ephemeral.plugins.module_utils import _sockets, _sysctl

RES = _sysctl.RESERVED_KEY
RNG = _sysctl.RANGE_KEY


def kernel_line(protocol, local_port, remote_port, state):
    addr, zero = ('0100007F', '00000000') if protocol in ('tcp', 'udp') else ('0' * 24 + '01000000', '0' * 32)
    remote = zero if state in ('0A', '07') and remote_port == 0 else addr
    return ('   0: %s:%04X %s:%04X %s 00000000:00000000 00:00000000 00000000     0        0 0 1 '
            '0000000000000000 100 0 0 10 0' % (addr, local_port, remote, remote_port, state)).encode('ascii')


def table_with(*entries):
    """A SocketTable from (protocol, local_port, remote_port, state) tuples."""
    ports = {}
    for protocol, local_port, remote_port, state in entries:
        item = ports.setdefault(local_port, _sockets.PortSockets(local_port))
        item.add_group(protocol, [(state, kernel_line(protocol, local_port, remote_port, state))])
    return _sockets.SocketTable({'tcp': len(entries)}, ports, frozenset(), '/nowhere')


LIVE = _sysctl.LiveState((40000, 40999), frozenset([40500, 41500]))
EMPTY = table_with()


@pytest.mark.parametrize('port, boot_range, boot_reserved, at_risk, reason', [
    (40100, (32768, 60999), frozenset(), True, info.REASON_EXPOSED),
    (40500, (32768, 60999), frozenset([40500]), False, info.REASON_RESERVED),
    (40500, (32768, 60999), frozenset(), True, info.REASON_BOOT_UNRESERVED),
    (40500, (50000, 60999), frozenset(), False, info.REASON_RESERVED),
    (41500, (32768, 60999), frozenset([41500]), False, info.REASON_RESERVED),
    (2000, (32768, 60999), frozenset(), False, info.REASON_OUTSIDE),
    (41000, (32768, 60999), frozenset(), True, info.REASON_BOOT_IN_RANGE),
    (41000, None, None, False, info.REASON_OUTSIDE),
])
def test_judge_without_sockets(port, boot_range, boot_reserved, at_risk, reason):
    entry = info.judge(port, LIVE, EMPTY, boot_range, boot_reserved)
    assert (entry['at_risk'], entry['reason']) == (at_risk, reason)
    assert entry['holders'] == [] and entry['holder_count'] == 0 and entry['listeners'] == []
    if boot_range is None:
        assert entry['reserved_boot'] is None and entry['in_range_boot'] is None


def test_held_port_is_at_risk_even_when_reserved_and_outside_the_range():
    sockets = table_with(('tcp', 2000, 5000, '06'), ('tcp', 40500, 5000, '01'), ('tcp', 40500, 5001, '06'))
    entry = info.judge(2000, LIVE, sockets, (32768, 60999), frozenset())
    assert (entry['at_risk'], entry['reason']) == (
        True, 'held by an outgoing connection in TIME_WAIT: a restart would fail now')
    entry = info.judge(40500, LIVE, sockets, (32768, 60999), frozenset([40500]))
    assert entry['reason'] == 'held by an outgoing connection in ESTABLISHED and TIME_WAIT: a restart would fail now'
    assert entry['holder_states'] == {'tcp ESTABLISHED': 1, 'tcp TIME_WAIT': 1}


def test_listener_with_connections_is_judged_by_range_and_reservation():
    sockets = table_with(('tcp', 40500, 0, '0A'), ('tcp', 40500, 40600, '01'), ('tcp', 40100, 0, '0A'))
    entry = info.judge(40500, LIVE, sockets, (32768, 60999), frozenset([40500]))
    assert (entry['at_risk'], entry['reason']) == (False, info.REASON_RESERVED)
    assert entry['listener_count'] == 1 and entry['holder_count'] == 1
    entry = info.judge(40100, LIVE, sockets, (32768, 60999), frozenset())
    assert (entry['at_risk'], entry['reason']) == (True, info.REASON_EXPOSED)
    assert entry['listeners'] == [{'protocol': 'tcp', 'address': '127.0.0.1', 'local': '127.0.0.1:40100', 'uid': 0,
                                   'inode': 0}]


def test_udp_holder_reason_names_the_protocol():
    sockets = table_with(('udp', 40200, 53, '01'))
    entry = info.judge(40200, LIVE, sockets, None, None)
    assert entry['reason'] == 'held by an outgoing connection in ESTABLISHED (udp): a restart would fail now'


def test_holder_listing_is_capped_but_counted():
    entries = [('tcp', 40300, 5000 + i, '06') for i in range(info.LIST_LIMIT + 5)]
    sockets = _sockets.SocketTable({}, {}, frozenset(), '/nowhere')
    item = _sockets.PortSockets(40300)
    item.add_group('tcp', [(state, kernel_line(p, lp, rp, state)) for p, lp, rp, state in entries])
    sockets.ports[40300] = item
    entry = info.judge(40300, LIVE, sockets, None, None)
    assert len(entry['holders']) == info.LIST_LIMIT
    assert entry['holder_count'] == info.LIST_LIMIT + 5


def test_drift_compares_sets_and_numbers():
    live = _sysctl.LiveState((32768, 60999), frozenset([8080, 8081]))
    same = info.drift_report(live, (32768, 60999), frozenset([8081, 8080]))
    assert same == {'detected': False, 'range': None, 'reserved': None, 'note': None}
    drifted = info.drift_report(live, (40000, 60999), frozenset([8080, 9000, 9001]))
    assert drifted['detected'] is True
    assert drifted['range'] == {'live': [32768, 60999], 'boot': [40000, 60999]}
    assert (drifted['reserved']['missing']['canonical'], drifted['reserved']['missing']['count'],
            drifted['reserved']['extra']['canonical'], drifted['reserved']['extra']['count']) == ('9000-9001', 2, '8081', 1)


def _put(root, rel, text):
    full = os.path.join(str(root), rel)
    if not os.path.isdir(os.path.dirname(full)):
        os.makedirs(os.path.dirname(full))
    with open(full, 'w') as handle:
        handle.write(text)


def test_boot_report_defaults_when_no_file_sets_the_keys(tmp_path):
    warnings = []
    report, values, _system = info.boot_report(str(tmp_path), 1024, warnings)
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
    report, values, _system = info.boot_report(str(tmp_path), 1024, warnings)
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
    report, values, _system = info.boot_report(str(tmp_path), 1024, warnings)
    assert values == {RNG: (32768, 60999), RES: frozenset()}
    assert report[RES]['valid'] is False and 'white space' in report[RES]['error']
    assert report[RNG]['valid'] is False and 'reversed' in report[RNG]['error']
    assert len(warnings) == 2 and all('kernel default' in w for w in warnings)


def test_parse_options_names_the_option():
    with pytest.raises(info.TaskError) as exc:
        info.parse_options({'examine': 'abc'})
    assert str(exc.value).startswith("examine: 'abc'")
    with pytest.raises(info.TaskError) as exc:
        info.parse_options({'netns': 'run/netns/x'})
    assert 'netns' in str(exc.value)
    assert info.parse_options({'examine': [80, '90-91']})['examine'] == frozenset([80, 90, 91])
    assert info.parse_options({})['examine'] is None


def test_chain_report_adds_after_boot_and_takes_its_values(tmp_path):
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
    report, values, _system = info.boot_report(root, 1024, warnings)
    appliers = info.chain_report(root, report, values, 1024, warnings)
    assert [a['name'] for a in appliers] == ['systemd-sysctl', 'tuned']
    assert report[RNG]['value'] == '32768 60999'   # boot stays systemd-sysctl's answer
    assert report[RNG]['after_boot'] == {'value': '9000 65499', 'file': '/etc/tuned/oracle/tuned.conf', 'line': 2,
                                         'profile': 'oracle', 'applier': 'tuned', 'note': None}
    assert report[RES]['after_boot']['applier'] == 'tuned'   # re-applied by tuned, our file
    assert values == {RNG: (9000, 65499), RES: frozenset([9100])}
    assert warnings == []
