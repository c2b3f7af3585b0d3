# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ephemeral pressure per destination: which sockets count, from synthetic /proc/net tables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _local_ports, _local_ports_info, _pressure
from ansible_collections.portguard.ephemeral.plugins.module_utils._task import TaskError
from ansible_collections.portguard.ephemeral.tests.unit.plugins.module_utils.test__sockets import line, table

RANGE = (40000, 40999)          # 1000 ports
NOTHING = frozenset()


def tables(**lines):
    """{protocol: raw table}; every protocol present (empty when not given)."""
    return dict((protocol, table(protocol, *lines.get(protocol, ()))) for protocol in ('tcp', 'tcp6', 'udp', 'udp6'))


def clients(protocol, local, remote, rport, ports, state='01', start=0):
    """Outgoing connections from ``local`` on each of ``ports`` to remote:rport."""
    return [line(protocol, start + i, local, port, remote, rport, state) for i, port in enumerate(ports)]


def pressure(raw, port_range=RANGE, reserved=NOTHING, limit=10):
    return _pressure.report(_pressure.scan(raw), port_range, reserved, limit)


def by_destination(result):
    return dict(((d['protocol'], d['local_address'], d['remote_address'], d['remote_port']), d)
                for d in result['destinations'])


# --------------------------------------------------------------------------- which sockets count

def test_states_count_listeners_and_the_server_side_do_not():
    raw = tables(tcp=[
        line('tcp', 0, '0.0.0.0', 5432, '0.0.0.0', 0, '0A'),              # the listener (outside the range)
        line('tcp', 1, '10.0.0.5', 40001, '10.0.0.9', 5432, '01'),
        line('tcp', 2, '10.0.0.5', 40002, '10.0.0.9', 5432, '06'),
        line('tcp', 3, '10.0.0.5', 40003, '10.0.0.9', 5432, '06'),
        line('tcp', 4, '10.0.0.5', 40004, '10.0.0.9', 5432, '05'),
        line('tcp', 5, '10.0.0.5', 40005, '10.0.0.9', 5432, '02'),
        line('tcp', 6, '10.0.0.5', 40006, '10.0.0.9', 5432, '08'),
        # The accepted end of a connection to our own listener: the server side, not a destination.
        line('tcp', 7, '10.0.0.5', 5432, '10.0.0.7', 40100, '01'),
    ])
    result = pressure(raw)
    assert result['range'] == [40000, 40999] and result['effective'] == 1000
    assert result['destination_count'] == 1
    (dest,) = result['destinations']
    assert dest == {'protocol': 'tcp', 'remote_address': '10.0.0.9', 'remote_port': 5432, 'local_address': '10.0.0.5',
                    'in_use': 6, 'outside_range': 0, 'left': 994,
                    'states': {'ESTABLISHED': 1, 'TIME_WAIT': 2, 'FIN_WAIT2': 1, 'SYN_SENT': 1, 'CLOSE_WAIT': 1}}
    assert result['held_for_every_destination'] == {'tcp': 0, 'udp': 0}


def test_exhaustion_is_per_destination_and_per_local_address():
    raw = tables(tcp=clients('tcp', '10.0.0.5', '10.0.0.9', 5432, range(40000, 40300))
                 + clients('tcp', '10.0.0.5', '10.0.0.9', 6432, range(40000, 40010), start=300)
                 + clients('tcp', '10.0.0.6', '10.0.0.9', 5432, range(40000, 40100), start=400))
    found = by_destination(pressure(raw))
    # The same local ports serve other destinations: each keeps its own count.
    assert found[('tcp', '10.0.0.5', '10.0.0.9', 5432)]['left'] == 700
    assert found[('tcp', '10.0.0.5', '10.0.0.9', 6432)]['left'] == 990
    assert found[('tcp', '10.0.0.6', '10.0.0.9', 5432)]['left'] == 900


def test_sorted_by_left_and_bounded_by_limit():
    raw = tables(tcp=clients('tcp', '10.0.0.5', '10.0.0.1', 80, range(40000, 40010))
                 + clients('tcp', '10.0.0.5', '10.0.0.2', 80, range(40000, 40500), start=10)
                 + clients('tcp', '10.0.0.5', '10.0.0.3', 80, range(40000, 40100), start=600))
    result = pressure(raw, limit=2)
    assert [d['remote_address'] for d in result['destinations']] == ['10.0.0.2', '10.0.0.3']
    assert [d['left'] for d in result['destinations']] == [500, 900]
    assert (result['destination_count'], result['limit']) == (3, 2)
    assert pressure(raw, limit=0)['destinations'] == []


def test_ipv6_is_its_own_destination_and_mapped_ipv4_is_ipv4():
    raw = tables(
        tcp=clients('tcp', '10.0.0.5', '10.0.0.9', 443, range(40000, 40010)),
        tcp6=clients('tcp6', '::ffff:10.0.0.5', '::ffff:10.0.0.9', 443, range(40010, 40015))
        + clients('tcp6', '2001:db8::5', '2001:db8::9', 443, range(40000, 40020), start=5))
    found = by_destination(pressure(raw))
    assert set(found) == {('tcp', '10.0.0.5', '10.0.0.9', 443), ('tcp', '2001:db8::5', '2001:db8::9', 443)}
    # A dual-stack socket talking IPv4 shares the IPv4 4-tuples: one destination.
    assert found[('tcp', '10.0.0.5', '10.0.0.9', 443)]['in_use'] == 15
    assert found[('tcp', '2001:db8::5', '2001:db8::9', 443)]['in_use'] == 20


def test_listeners_inside_the_range_are_lost_to_every_tcp_destination_whatever_their_address():
    raw = tables(
        tcp=[line('tcp', 0, '0.0.0.0', 40500, '0.0.0.0', 0, '0A'),        # wildcard
             line('tcp', 1, '127.0.0.1', 40501, '0.0.0.0', 0, '0A'),      # specific address
             line('tcp', 2, '0.0.0.0', 22, '0.0.0.0', 0, '0A')]           # outside the range: costs nothing
        + clients('tcp', '10.0.0.5', '10.0.0.9', 5432, range(40000, 40010), start=3),
        tcp6=[line('tcp6', 0, '::', 40502, '::', 0, '0A')]
        + clients('tcp6', '2001:db8::5', '2001:db8::9', 443, range(40000, 40004), start=1),
        udp=[line('udp', 0, '0.0.0.0', 40600, '0.0.0.0', 0, '07')])
    result = pressure(raw)
    assert result['held_for_every_destination'] == {'tcp': 3, 'udp': 1}
    found = by_destination(result)
    assert found[('tcp', '10.0.0.5', '10.0.0.9', 5432)]['left'] == 1000 - 3 - 10
    assert found[('tcp', '2001:db8::5', '2001:db8::9', 443)]['left'] == 1000 - 3 - 4


def test_a_tcp_socket_without_a_peer_is_held_by_bind_and_no_destination():
    raw = tables(tcp=[line('tcp', 0, '0.0.0.0', 40007, '0.0.0.0', 0, '07')]
                 + clients('tcp', '10.0.0.5', '10.0.0.9', 80, [40001], start=1))
    result = pressure(raw)
    assert result['destination_count'] == 1
    assert result['held_for_every_destination']['tcp'] == 1
    assert result['destinations'][0]['left'] == 998
    # A port held by bind() and used by a connection too (SO_REUSEADDR on both) is one port, not two.
    raw = tables(tcp=[line('tcp', 0, '0.0.0.0', 40007, '0.0.0.0', 0, '07')]
                 + clients('tcp', '10.0.0.5', '10.0.0.9', 80, [40007], start=1))
    assert pressure(raw)['destinations'][0]['left'] == 999


def test_reserved_ports_and_ports_outside_the_range_take_nothing():
    raw = tables(tcp=clients('tcp', '10.0.0.5', '10.0.0.9', 5432, [40001, 40002, 40003, 39000, 41000])
                 + [line('tcp', 9, '0.0.0.0', 40003, '0.0.0.0', 0, '0A')])
    # 40002 is reserved (inside the range), 45000 reserved outside the range: effective 999.
    result = pressure(raw, reserved=frozenset([40002, 45000]))
    assert result['effective'] == 999
    (dest,) = result['destinations']
    assert (dest['in_use'], dest['outside_range']) == (1, 3)      # 40001; 40002 reserved, 39000 and 41000 outside
    # 40003 has a listener: the connection on it is the server side, not counted at all.
    assert dest['left'] == 999 - 1 - 1
    assert result['held_for_every_destination']['tcp'] == 1


def test_udp_connected_sockets_share_one_port_space_whatever_the_destination():
    raw = tables(
        udp=[line('udp', 0, '0.0.0.0', 53, '0.0.0.0', 0, '07'),           # a service outside the range
             line('udp', 1, '0.0.0.0', 40900, '0.0.0.0', 0, '07'),        # unconnected, inside: held
             # The server side of a connected UDP service on its own port: not a destination.
             line('udp', 2, '10.0.0.5', 53, '10.0.0.7', 40123, '01')]
        + clients('udp', '10.0.0.5', '10.0.0.53', 53, range(40000, 40005), start=3),
        udp6=clients('udp6', '2001:db8::5', '2001:db8::53', 53, range(40010, 40012))
        + clients('udp6', '::ffff:10.0.0.5', '::ffff:10.0.0.53', 53, [40020], start=2),
        tcp=clients('tcp', '10.0.0.5', '10.0.0.9', 5432, range(40000, 40050)))
    result = pressure(raw)
    found = by_destination(result)
    assert set(found) == {('udp', None, '10.0.0.53', 53), ('udp', None, '2001:db8::53', 53),
                          ('tcp', '10.0.0.5', '10.0.0.9', 5432)}
    # UDP autobind needs a port no UDP socket uses: 5 + 2 + 1 connected, 1 unconnected inside the range.
    assert result['held_for_every_destination']['udp'] == 9
    assert found[('udp', None, '10.0.0.53', 53)]['in_use'] == 6
    assert found[('udp', None, '10.0.0.53', 53)]['states'] == {'ESTABLISHED': 6}
    assert found[('udp', None, '10.0.0.53', 53)]['left'] == 991
    assert found[('udp', None, '2001:db8::53', 53)]['left'] == 991
    # TCP is a separate port space: the UDP ports cost it nothing.
    assert found[('tcp', '10.0.0.5', '10.0.0.9', 5432)]['left'] == 950


def test_malformed_table_is_a_value_error():
    raw = tables()
    raw['tcp'] = table('tcp') + b'   0: 0100007F:ZZZZ 0900000A:1538 01 00000000:00000000\n'
    with pytest.raises(ValueError):
        pressure(raw)


# --------------------------------------------------------------------------- before and after a change

@pytest.mark.parametrize('before, after, takes', [
    (((40000, 40999), []), ((40000, 40999), [40500]), True),       # a new reservation inside
    (((40000, 40999), []), ((40000, 40999), [50000]), False),      # outside the range
    (((40000, 40999), [40500]), ((40000, 40999), []), False),      # a release
    (((40000, 40999), []), ((40100, 40999), []), True),            # narrower
    (((40000, 40999), list(range(40000, 40100))), ((40100, 40999), []), False),  # the cut-off part was reserved
    (((40000, 40999), []), ((39000, 40999), []), False),           # wider
    (((40000, 40999), []), ((41000, 41999), []), True),            # moved
    (((40000, 40999), [40998, 40999]), ((40000, 40997), []), False),
])
def test_takes_ports(before, after, takes):
    assert _pressure.takes_ports(before[0], frozenset(before[1]), after[0], frozenset(after[1])) is takes


def squeeze_tables():
    return tables(tcp=clients('tcp', '127.0.0.1', '127.0.0.1', 5000, range(40000, 40700))
                  + clients('tcp', '127.0.0.1', '127.0.0.1', 5001, range(40000, 40010), start=700))


def test_guard_fails_with_the_numbers_when_a_destination_would_drop_below_the_threshold():
    connections = _pressure.scan(squeeze_tables())
    warnings = []
    with pytest.raises(TaskError) as info:
        _pressure.guard(connections, (RANGE, NOTHING), (RANGE, frozenset(range(40800, 41000))), 200, 'fail', warnings)
    message = str(info.value)
    assert ('would leave 1 destination(s) fewer than min_free_per_destination=200 free ephemeral ports '
            '(effective range 1000 -> 800 ports), nothing was changed') in message
    assert ('tcp 127.0.0.1 -> 127.0.0.1:5000 has 700 local ports of the range in use (ESTABLISHED 700): '
            '300 left now, 100 after this change') in message
    assert '5001' not in message and warnings == []
    result = info.value.details['pressure']
    assert result['min_free'] == 200
    assert result['before']['destinations'][0]['left'] == 300 and result['after']['destinations'][0]['left'] == 100
    assert result['after']['effective'] == 800
    assert result['squeezed'] == [{'protocol': 'tcp', 'remote_address': '127.0.0.1', 'remote_port': 5000,
                                   'local_address': '127.0.0.1', 'in_use': 700, 'states': {'ESTABLISHED': 700},
                                   'left_before': 300, 'left_after': 100}]


def test_guard_warns_instead_with_on_pressure_warn():
    warnings = []
    result = _pressure.guard(_pressure.scan(squeeze_tables()), (RANGE, NOTHING),
                             (RANGE, frozenset(range(40800, 41000))), 200, 'warn', warnings)
    assert len(warnings) == 1 and '300 left now, 100 after this change' in warnings[0]
    assert len(result['squeezed']) == 1


def test_guard_passes_with_enough_left_and_never_blocks_a_change_that_does_not_lower_left():
    connections = _pressure.scan(squeeze_tables())
    warnings = []
    # 100 more reserved: 200 left after, not below 200.
    result = _pressure.guard(connections, (RANGE, NOTHING), (RANGE, frozenset(range(40900, 41000))), 200, 'fail',
                             warnings)
    assert result['squeezed'] == [] and warnings == []
    assert result['after']['destinations'][0]['left'] == 200
    # Already below the threshold, and the change reserves ports its connections hold: left does not move.
    held = frozenset(range(40000, 40100))
    result = _pressure.guard(connections, (RANGE, NOTHING), (RANGE, held), 500, 'fail', warnings)
    assert (result['before']['destinations'][0]['left'], result['after']['destinations'][0]['left']) == (300, 300)
    assert result['after']['destinations'][0]['outside_range'] == 100
    assert result['squeezed'] == [] and warnings == []
    # 0 turns the check off.
    result = _pressure.guard(connections, (RANGE, NOTHING), ((40000, 40700), NOTHING), 0, 'fail', warnings)
    assert result['after']['destinations'][0]['left'] == 1


@pytest.mark.parametrize('params, words', [
    ({'min_free_per_destination': -1}, 'min_free_per_destination: -1 is outside 0-65535'),
    ({'min_free_per_destination': 'many'}, "min_free_per_destination: 'many' is not a number"),
    ({'min_free_per_destination': True}, 'min_free_per_destination: True is not a number'),
    ({'on_pressure': 'ignore'}, "on_pressure: 'ignore' is not one of fail, warn"),
])
def test_bad_apply_options(params, words):
    with pytest.raises(TaskError) as info:
        _local_ports.parse_options(dict(params, reserved=[8080]))
    assert words in str(info.value)


def test_option_defaults():
    opts = _local_ports.parse_options({'reserved': [8080]})
    assert (opts.min_free_per_destination, opts.on_pressure) == (1024, 'fail')
    assert _local_ports_info.parse_options({}).pressure_limit == 10
    assert _local_ports_info.parse_options({'pressure_limit': 0}).pressure_limit == 0
    with pytest.raises(TaskError) as info:
        _local_ports_info.parse_options({'pressure_limit': -3})
    assert 'pressure_limit: -3 is outside 0-65535' in str(info.value)
