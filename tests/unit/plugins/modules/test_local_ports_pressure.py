# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""local_ports' per-destination check (issue 24) through its run(), on an in-memory kernel and synthetic tables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _local_ports, _pressure
from ansible_collections.portguard.ephemeral.tests.unit.plugins.module_utils.test__sockets import line, table
# pylint: disable-next=unused-import
from ansible_collections.portguard.ephemeral.tests.unit.plugins.modules.test_local_ports import (  # noqa: F401
    file_snapshot, kernel, root)


@pytest.fixture
def net(tmp_path):
    """/proc/net tables: a listener on 5000 and 1,500 connections to it from ports 40000-41499."""
    directory = tmp_path / 'net'
    directory.mkdir()
    tcp = [line('tcp', 0, '127.0.0.1', 5000, '0.0.0.0', 0, '0A')]
    tcp.extend(line('tcp', 1 + i, '127.0.0.1', 40000 + i, '127.0.0.1', 5000, '01') for i in range(1500))
    for protocol in ('tcp', 'tcp6', 'udp', 'udp6'):
        (directory / protocol).write_bytes(table(protocol, *(tcp if protocol == 'tcp' else ())))
    return str(directory)


def run(root, net, check_mode=False, **params):
    return _local_ports.run(params, check_mode=check_mode, root=root, net_directory=net)


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_squeezing_reservation_fails_before_anything_is_written(kernel, root, net, check_mode):
    kernel.port_range = (40000, 41999)
    before = file_snapshot(root)
    with pytest.raises(_local_ports.TaskError) as info:
        run(root, net, check_mode=check_mode, reserved=['41500-41999'], min_ephemeral=1)
    assert 'tcp 127.0.0.1 -> 127.0.0.1:5000 has 1500 local ports of the range in use (ESTABLISHED 1500): ' \
           '500 left now, 0 after this change' in str(info.value)
    assert 'nothing was changed' in str(info.value)
    assert kernel.writes == [] and file_snapshot(root) == before
    assert info.value.details['pressure']['squeezed'][0]['left_after'] == 0


def test_enough_left_passes_and_returns_before_and_after(kernel, root, net):
    kernel.port_range = (40000, 41999)
    result = run(root, net, reserved=['41500-41999'], min_ephemeral=1, min_free_per_destination=0)
    pressure = result['pressure']
    assert (pressure['before']['effective'], pressure['after']['effective']) == (2000, 1500)
    assert [d['left'] for d in pressure['before']['destinations']] == [500]
    assert [d['left'] for d in pressure['after']['destinations']] == [0]
    assert pressure['min_free'] == 0 and pressure['squeezed'] == []
    assert kernel.reserved == frozenset(range(41500, 42000))


def test_on_pressure_warn_applies_and_warns(kernel, root, net):
    kernel.port_range = (40000, 41999)
    result = run(root, net, reserved=['41500-41999'], min_ephemeral=1, on_pressure='warn')
    assert any('500 left now, 0 after this change' in text for text in result['warnings'])
    assert kernel.reserved == frozenset(range(41500, 42000))


def test_no_scan_when_nothing_leaves_the_range_and_no_examine(kernel, root, net, monkeypatch):
    kernel.port_range = (40000, 41999)

    def no_scan(directory=None):
        raise AssertionError('the tables were read')
    monkeypatch.setattr(_pressure, 'read_tables', no_scan)
    result = run(root, net, reserved=[8080], min_ephemeral=1)
    assert 'pressure' not in result
    # live: false changes nothing live, so nothing is checked either.
    result = run(root, net, reserved=['41500-41999'], min_ephemeral=1, live=False)
    assert 'pressure' not in result
