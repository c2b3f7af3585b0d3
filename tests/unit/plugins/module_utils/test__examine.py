# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The examine verdicts both modules return: at_risk and reasons, holders listed, drift as sets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _examine as info
from ansible_collections.portguard.ephemeral.plugins.module_utils import _kernel, _sockets


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


class Later(object):
    """The boot values (and, unless given, the same values after sysctl --system), as an Outlook carries them."""

    def __init__(self, boot_range, boot_reserved, system_range=None, system_reserved=None):
        self.boot_range, self.boot_reserved = boot_range, boot_reserved
        self.system_range = boot_range if system_range is None else system_range
        self.system_reserved = boot_reserved if system_reserved is None else system_reserved


def later(boot_range, boot_reserved):
    return None if boot_range is None else Later(boot_range, boot_reserved)


LIVE = _kernel.LiveState((40000, 40999), frozenset([40500, 41500]))
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
    entry = info.judge(port, LIVE, EMPTY, later(boot_range, boot_reserved))
    assert (entry['at_risk'], entry['reason']) == (at_risk, reason)
    assert entry['holders'] == [] and entry['holder_count'] == 0 and entry['listeners'] == []
    if boot_range is None:
        assert entry['reserved_boot'] is None and entry['in_range_boot'] is None


def test_held_port_is_at_risk_even_when_reserved_and_outside_the_range():
    sockets = table_with(('tcp', 2000, 5000, '06'), ('tcp', 40500, 5000, '01'), ('tcp', 40500, 5001, '06'))
    entry = info.judge(2000, LIVE, sockets, later((32768, 60999), frozenset()))
    assert (entry['at_risk'], entry['reason']) == (
        True, 'held by an outgoing connection in TIME_WAIT: a restart would fail now')
    entry = info.judge(40500, LIVE, sockets, later((32768, 60999), frozenset([40500])))
    assert entry['reason'] == 'held by an outgoing connection in ESTABLISHED and TIME_WAIT: a restart would fail now'
    assert entry['holder_states'] == {'tcp ESTABLISHED': 1, 'tcp TIME_WAIT': 1}


def test_listener_with_connections_is_judged_by_range_and_reservation():
    sockets = table_with(('tcp', 40500, 0, '0A'), ('tcp', 40500, 40600, '01'), ('tcp', 40100, 0, '0A'))
    entry = info.judge(40500, LIVE, sockets, later((32768, 60999), frozenset([40500])))
    assert (entry['at_risk'], entry['reason']) == (False, info.REASON_RESERVED)
    assert entry['listener_count'] == 1 and entry['holder_count'] == 1
    entry = info.judge(40100, LIVE, sockets, later((32768, 60999), frozenset()))
    assert (entry['at_risk'], entry['reason']) == (True, info.REASON_EXPOSED)
    assert entry['listeners'] == [{'protocol': 'tcp', 'address': '127.0.0.1', 'local': '127.0.0.1:40100', 'uid': 0,
                                   'inode': 0}]


def test_udp_holder_reason_names_the_protocol():
    sockets = table_with(('udp', 40200, 53, '01'))
    entry = info.judge(40200, LIVE, sockets, None)
    assert entry['reason'] == 'held by an outgoing connection in ESTABLISHED (udp): a restart would fail now'


def test_holder_listing_is_capped_but_counted():
    entries = [('tcp', 40300, 5000 + i, '06') for i in range(info.LIST_LIMIT + 5)]
    sockets = _sockets.SocketTable({}, {}, frozenset(), '/nowhere')
    item = _sockets.PortSockets(40300)
    item.add_group('tcp', [(state, kernel_line(p, lp, rp, state)) for p, lp, rp, state in entries])
    sockets.ports[40300] = item
    entry = info.judge(40300, LIVE, sockets, None)
    assert len(entry['holders']) == info.LIST_LIMIT
    assert entry['holder_count'] == info.LIST_LIMIT + 5


def test_drift_compares_sets_and_numbers():
    live = _kernel.LiveState((32768, 60999), frozenset([8080, 8081]))
    same = info.drift_report(live, (32768, 60999), frozenset([8081, 8080]))
    assert same == {'detected': False, 'range': None, 'reserved': None, 'note': None}
    drifted = info.drift_report(live, (40000, 60999), frozenset([8080, 9000, 9001]))
    assert drifted['detected'] is True
    assert drifted['range'] == {'live': [32768, 60999], 'boot': [40000, 60999]}
    assert (drifted['reserved']['missing']['canonical'], drifted['reserved']['missing']['count'],
            drifted['reserved']['extra']['canonical'], drifted['reserved']['extra']['count']) == ('9000-9001', 2, '8081', 1)
