# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters port_ranges and port_list."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible.errors import AnsibleFilterError

from ansible_collections.portguard.ephemeral.plugins.filter import ports as filters
from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports


def test_filter_module_exposes_both_filters():
    mapping = filters.FilterModule().filters()
    assert mapping == {'port_ranges': filters.port_ranges, 'port_list': filters.port_list}


CASES = [
    # (id, input, port_ranges result, port_list result)
    ('list', [8082, 8080, 8081, '9000-9010', 22, '9005-9020'], '22,8080-8082,9000-9020',
     [22, 8080, 8081, 8082] + list(range(9000, 9021))),
    ('kernel-string', '8082,8080,8081,5,4-6,1', '1,4-6,8080-8082', [1, 4, 5, 6, 8080, 8081, 8082]),
    ('kernel-readback-with-newline', '8080-8082,9000\n', '8080-8082,9000', [8080, 8081, 8082, 9000]),
    ('newline-separated', '9000\n8080', '8080,9000', [8080, 9000]),
    ('single-int', 8080, '8080', [8080]),
    ('string-port-in-list', ['8080'], '8080', [8080]),
    ('empty-list', [], '', []),
    ('empty-string', '', '', []),
    ('kernel-empty-readback', '\n', '', []),
    ('none', None, '', []),
    ('edges', [65535, 1], '1,65535', [1, 65535]),
    ('one-port-range', '8080-8080', '8080', [8080]),
]


@pytest.mark.parametrize('value, text, ports', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_filters(value, text, ports):
    assert filters.port_ranges(value) == text
    assert filters.port_list(value) == ports
    # Each is the other's inverse.
    assert filters.port_list(text) == ports
    assert filters.port_ranges(ports) == text


def test_port_list_returns_plain_ints():
    result = filters.port_list('8080-8081')
    assert all(isinstance(port, int) and not isinstance(port, bool) for port in result)
    assert result == [8080, 8081]


ERRORS = [
    # (id, input, offending value as repr'd in the message)
    ('octal', '010', "'010'"),
    ('octal-in-list', [8080, '010'], "'010'"),
    ('hex', ['0x1F90'], "'0x1F90'"),
    ('space', '8080, 8081', "' 8081'"),
    ('reversed', ['9010-9000'], "'9010-9000'"),
    ('zero', [0], '0'),
    ('too-big', '65536', "'65536'"),
    ('double-comma', '8080,,8081', "'8080,,8081'"),
    ('bool', True, 'True'),
    ('dict', {'a': 1}, "{'a': 1}"),
]


@pytest.mark.parametrize('value, offending', [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
@pytest.mark.parametrize('func', [filters.port_ranges, filters.port_list], ids=['port_ranges', 'port_list'])
def test_errors_are_filter_errors_with_the_module_message(func, value, offending):
    with pytest.raises(_ports.PortSpecError) as expected:
        _ports.parse_ports(value, func.__name__)
    with pytest.raises(AnsibleFilterError) as info:
        func(value)
    message = info.value.message
    assert message == str(expected.value)
    assert message.startswith('%s: %s ' % (func.__name__, offending))


@pytest.mark.parametrize('func', [filters.port_ranges, filters.port_list], ids=['port_ranges', 'port_list'])
def test_name_is_used_in_errors(func):
    with pytest.raises(AnsibleFilterError) as info:
        func(['8080', '010'], 'service_ports')
    assert info.value.message.startswith("service_ports: '010' has a leading zero")


@pytest.mark.parametrize('name', ['', None, 5])
def test_bad_name_is_refused(name):
    with pytest.raises(AnsibleFilterError) as info:
        filters.port_ranges([8080], name)
    assert info.value.message.startswith('name: ')


PORT = st.integers(min_value=1, max_value=65535)


@settings(max_examples=200)
@given(st.lists(st.one_of(PORT, st.tuples(PORT, st.integers(0, 500)).map(
    lambda t: '%d-%d' % (t[0], min(t[0] + t[1], 65535)))), max_size=30))
def test_inverse_properties(items):
    text = filters.port_ranges(items)
    ports = filters.port_list(items)
    assert ports == sorted(set(ports))
    assert filters.port_list(text) == ports
    assert filters.port_ranges(ports) == text
    assert filters.port_ranges(text) == text
