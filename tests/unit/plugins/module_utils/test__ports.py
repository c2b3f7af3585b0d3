# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port sets and ranges: tables of cases, then properties (hypothesis)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports
from ansible_collections.portguard.ephemeral.plugins.module_utils._ports import PortSpecError


def span(low, high):
    return frozenset(range(low, high + 1))


# --------------------------------------------------------------------------- parse_ports: accepted input

PARSE_OK = [
    # (id, value, expected set)
    ('none', None, frozenset()),
    ('empty-list', [], frozenset()),
    ('empty-string', '', frozenset()),
    ('newline-only', '\n', frozenset()),
    ('bare-int', 8080, {8080}),
    ('list-of-ints', [8081, 8080], {8080, 8081}),
    ('list-with-range', [8080, '9000-9002'], {8080, 9000, 9001, 9002}),
    ('list-single-string', ['8080'], {8080}),
    ('list-range-spaces-around-dash', [' 8080 - 8082 '], span(8080, 8082)),
    ('list-duplicates', [8080, 8080, '8080-8080'], {8080}),
    ('list-overlap', ['8080-8085', '8083-8090'], span(8080, 8090)),
    ('tuple', (1, 65535), {1, 65535}),
    ('set', {22, 8080}, {22, 8080}),
    ('frozenset', frozenset([22]), {22}),
    ('whole-space', ['1-65535'], span(1, 65535)),
    ('kernel-unsorted', '8082,8080,8081', span(8080, 8082)),
    ('kernel-overlap', '5,4-6,1', {1, 4, 5, 6}),
    ('kernel-one-port-range', '8080-8080', {8080}),
    ('kernel-trailing-comma', '8080,', {8080}),
    ('kernel-trailing-comma-newline', '8080,9000,\n', {8080, 9000}),
    ('kernel-newline-separated', '8080\n9000', {8080, 9000}),
    ('kernel-leading-trailing-newlines', '\n\n8080-8081\n', {8080, 8081}),
    ('kernel-edges', '1,65535', {1, 65535}),
]


@pytest.mark.parametrize('value, expected', [c[1:] for c in PARSE_OK], ids=[c[0] for c in PARSE_OK])
def test_parse_ports_accepts(value, expected):
    result = _ports.parse_ports(value, 'reserved')
    assert isinstance(result, frozenset)
    assert result == frozenset(expected)


# --------------------------------------------------------------------------- parse_ports: refused input

PARSE_BAD = [
    # (id, value, offending piece named in the message, words the message must contain)
    ('octal', '010', '010', 'octal'),
    ('octal-in-list', ['010'], '010', 'octal'),
    ('octal-in-range', '8080-09000', '8080-09000', 'octal'),
    ('hex', '0x10', '0x10', 'hexadecimal'),
    ('hex-in-list', ['0x1F90'], '0x1F90', 'hexadecimal'),
    ('space-after-comma', '8080, 8081', ' 8081', 'white space'),
    ('space-inside', '8080 - 8082', '8080 - 8082', 'white space'),
    ('tab', '8080\t', '8080\t', 'white space'),
    ('carriage-return', '8080\r\n9000', '8080\r', 'white space'),
    ('leading-comma', ',8080', ',8080', 'empty entry'),
    ('double-comma', '8080,,8081', '8080,,8081', 'empty entry'),
    ('blank-line-between', '8080\n\n9000', '8080\n\n9000', 'empty entry'),
    ('lone-comma', ',', ',', 'lone comma'),
    ('reversed', '8090-8080', '8090-8080', 'reversed'),
    ('reversed-in-list', ['9002-9000'], '9002-9000', 'reversed'),
    ('too-big', '65536', '65536', 'outside 1-65535'),
    ('too-big-int', [65536], 65536, 'outside 1-65535'),
    ('too-big-range-end', ['65530-65536'], '65530-65536', 'outside 1-65535'),
    ('zero', '0', '0', 'port 0'),
    ('zero-int', [0], 0, 'port 0'),
    ('zero-range', '0-100', '0-100', 'port 0'),
    ('negative-int', [-1], -1, 'outside 1-65535'),
    ('negative-string', '-5', '-5', 'empty port number'),
    ('plus-sign', '+5', '+5', 'not a port number'),
    ('letters', 'http', 'http', 'not a port number'),
    ('semicolon', '8080;8081', '8080;8081', 'not a port number'),
    ('three-part-range', '1-2-3', '1-2-3', 'not a port or range'),
    ('three-part-range-list', ['1-2-3'], '1-2-3', 'not a port or range'),
    ('open-range', ['8080-'], '8080-', 'empty port number'),
    ('empty-item', [''], '', 'is empty'),
    ('blank-item', ['  '], '  ', 'is empty'),
    ('bool-item', [True], True, 'boolean'),
    ('bool', False, False, 'boolean'),
    ('float-item', [80.5], 80.5, 'float'),
    ('none-item', [None], None, 'NoneType'),
    ('float', 80.0, 80.0, 'not a list'),
    ('dict', {'port': 80}, {'port': 80}, 'not a list'),
    ('nested-list', [[80]], [80], 'not a port or range'),
    ('comma-inside-list-item', ['8080,8081'], '8080,8081', 'not a port number'),
]


@pytest.mark.parametrize('value, offending, words', [c[1:] for c in PARSE_BAD], ids=[c[0] for c in PARSE_BAD])
def test_parse_ports_refuses(value, offending, words):
    with pytest.raises(PortSpecError) as info:
        _ports.parse_ports(value, 'reserved')
    exc = info.value
    message = str(exc)
    assert exc.option == 'reserved'
    assert exc.value == offending
    # The message names the option first, then the offending value as the user wrote it.
    assert message.startswith('reserved: %r ' % (offending,))
    assert words in message
    assert isinstance(exc, ValueError)


@pytest.mark.parametrize('value, offending, words', [c[1:] for c in PARSE_BAD], ids=[c[0] for c in PARSE_BAD])
def test_errors_name_the_option_given(value, offending, words):
    with pytest.raises(PortSpecError) as info:
        _ports.parse_ports(value, 'vars.my_ports[3]')
    assert str(info.value).startswith('vars.my_ports[3]: %r' % (offending,))


def test_error_hint_suggests_the_fix_for_reversed_range():
    with pytest.raises(PortSpecError) as info:
        _ports.parse_ports('8090-8080')
    assert info.value.hint == 'write it as "8080-8090"'
    assert str(info.value).endswith('; write it as "8080-8090"')


def test_error_offending_value_is_part_of_the_input():
    value = '8080,9000-9010,70000,1'
    with pytest.raises(PortSpecError) as info:
        _ports.parse_ports(value, 'reserved')
    assert info.value.value == '70000'
    assert info.value.value in value


# --------------------------------------------------------------------------- canonical form

FORMAT_CASES = [
    ('empty', frozenset(), ''),
    ('one', {8080}, '8080'),
    ('run', span(8080, 8082), '8080-8082'),
    ('two-ports-adjacent', {8080, 8081}, '8080-8081'),
    ('mixed', {1, 4, 5, 6}, '1,4-6'),
    ('gap-of-one', {10, 12}, '10,12'),
    ('edges', {1, 65535}, '1,65535'),
    ('everything', span(1, 65535), '1-65535'),
]


@pytest.mark.parametrize('ports, text', [c[1:] for c in FORMAT_CASES], ids=[c[0] for c in FORMAT_CASES])
def test_format_ports(ports, text):
    assert _ports.format_ports(ports) == text
    assert _ports.parse_kernel_readback(text + '\n') == frozenset(ports)


def test_format_runs_gives_ints_and_range_strings():
    assert _ports.format_runs({1, 4, 5, 6, 9}) == [1, '4-6', 9]
    assert _ports.format_runs(frozenset()) == []


def test_port_runs_accepts_any_iterable():
    assert _ports.port_runs(iter([5, 3, 4, 9])) == [(3, 5), (9, 9)]


READBACK_CASES = [
    ('empty', '\n', frozenset()),
    ('empty-no-newline', '', frozenset()),
    ('kernel-form', '8080-8082,9000\n', span(8080, 8082) | {9000}),
    ('whole', '1-65535\n', span(1, 65535)),
]


@pytest.mark.parametrize('text, expected', [c[1:] for c in READBACK_CASES], ids=[c[0] for c in READBACK_CASES])
def test_parse_kernel_readback(text, expected):
    assert _ports.parse_kernel_readback(text) == expected


CAPACITY_CASES = [
    # (id, range, reserved, capacity)
    ('default-empty', (32768, 60999), frozenset(), 28232),
    ('inside-only-counted', (32768, 60999), {22, 8080, 40000, 70000 - 5000}, 28231),
    ('edges-counted', (32768, 60999), {32768, 60999}, 28230),
    ('one-port-range', (40000, 40000), frozenset(), 1),
    ('all-reserved', (40000, 40009), span(40000, 40009), 0),
]


@pytest.mark.parametrize('port_range, reserved, capacity', [c[1:] for c in CAPACITY_CASES],
                         ids=[c[0] for c in CAPACITY_CASES])
def test_ephemeral_capacity(port_range, reserved, capacity):
    assert _ports.ephemeral_capacity(port_range, reserved) == capacity


# --------------------------------------------------------------------------- parse_range

RANGE_OK = [
    # (id, value, unprivileged_port_start, expected)
    ('string', '32768 60999', 1024, (32768, 60999)),
    ('kernel-read-form', '32768\t60999\n', 1024, (32768, 60999)),
    ('extra-blanks', '  32768   60999 ', 1024, (32768, 60999)),
    ('list', [32768, 60999], 1024, (32768, 60999)),
    ('tuple', (1024, 65535), 1024, (1024, 65535)),
    ('list-of-strings', ['40000', ' 50001'], 1024, (40000, 50001)),
    ('low-equals-high', '40000 40000', 1024, (40000, 40000)),
    ('same-parity-is-not-an-error', '32768 61000', 1024, (32768, 61000)),
    ('same-parity-odd', [32769, 60999], 1024, (32769, 60999)),
    ('low-at-unprivileged-start', '1024 2047', 1024, (1024, 2047)),
    ('lowered-unprivileged-start', '500 600', 500, (500, 600)),
    ('unprivileged-start-zero-floor-is-1', '1 2', 0, (1, 2)),
]


@pytest.mark.parametrize('value, start, expected', [c[1:] for c in RANGE_OK], ids=[c[0] for c in RANGE_OK])
def test_parse_range_accepts(value, start, expected):
    assert _ports.parse_range(value, 'range', start) == expected


RANGE_BAD = [
    # (id, value, unprivileged_port_start, words)
    ('reversed', '60999 32768', 1024, 'reversed (LOW 60999 > HIGH 32768)'),
    ('reversed-list', [2000, 1999], 1024, 'reversed'),
    ('one-number', '32768', 1024, 'not two numbers'),
    ('three-numbers', '32768 60999 1', 1024, 'not two numbers'),
    ('empty-string', '', 1024, 'not two numbers'),
    ('one-element-list', [32768], 1024, 'not a pair'),
    ('int', 32768, 1024, 'is a int, not a range'),
    ('none', None, 1024, 'not a range'),
    ('dict', {'low': 1}, 1024, 'not a range'),
    ('octal', '032768 60999', 1024, 'octal'),
    ('hex', '0x8000 60999', 1024, 'hexadecimal'),
    ('port-zero', '0 100', 1024, 'port 0'),
    ('too-high', '1024 65536', 1024, 'outside 1-65535'),
    ('negative', [-1, 100], 1024, 'outside 1-65535'),
    ('letters', 'a b', 1024, 'not a port number'),
    ('bool', [True, 2000], 1024, 'boolean'),
    ('comma', '32768,60999', 1024, 'not two numbers'),
    ('below-unprivileged-start', '1023 2000', 1024, 'starts below net.ipv4.ip_unprivileged_port_start (1024)'),
    ('below-raised-start', '2000 3001', 4096, 'choose LOW >= 4096'),
]


@pytest.mark.parametrize('value, start, words', [c[1:] for c in RANGE_BAD], ids=[c[0] for c in RANGE_BAD])
def test_parse_range_refuses(value, start, words):
    with pytest.raises(PortSpecError) as info:
        _ports.parse_range(value, 'range', start)
    message = str(info.value)
    assert message.startswith('range: %r ' % (value,))
    assert info.value.option == 'range'
    assert info.value.value == value
    assert words in message


def test_parse_range_reversed_hint_swaps_the_numbers():
    with pytest.raises(PortSpecError) as info:
        _ports.parse_range('60999 32768')
    assert info.value.hint == 'write it as "32768 60999"'


def test_format_and_read_back_range():
    assert _ports.format_range((32768, 60999)) == '32768\t60999'
    assert _ports.format_range((32768, 60999), ' ') == '32768 60999'
    assert _ports.parse_range_readback('32768\t60999\n') == (32768, 60999)


# --------------------------------------------------------------------------- properties

PORT = st.integers(min_value=_ports.MIN_PORT, max_value=_ports.MAX_PORT)


@st.composite
def port_sets(draw):
    """Sets with both scattered ports and long runs (plain frozensets rarely make runs)."""
    ports = set(draw(st.frozensets(PORT, max_size=60)))
    for start, length in draw(st.lists(st.tuples(PORT, st.integers(0, 3000)), max_size=6)):
        ports.update(range(start, min(start + length, _ports.MAX_PORT) + 1))
    return frozenset(ports)


@st.composite
def user_items(draw):
    """One list element as a user writes it: int, "P" or "A-B"."""
    low = draw(PORT)
    kind = draw(st.sampled_from(['int', 'str', 'range']))
    if kind == 'int':
        return low
    if kind == 'str':
        return '%d' % low
    high = draw(st.integers(min_value=low, max_value=min(low + 2000, _ports.MAX_PORT)))
    return '%d-%d' % (low, high)


def expand(items):
    ports = set()
    for item in items:
        if isinstance(item, int):
            ports.add(item)
        else:
            low, _sep, high = item.partition('-')
            ports.update(range(int(low), int(high or low) + 1))
    return frozenset(ports)


CANONICAL = re.compile(r'^(?:(?:[1-9][0-9]*)(?:-[1-9][0-9]*)?(?:,(?:[1-9][0-9]*)(?:-[1-9][0-9]*)?)*)?$')


@settings(max_examples=300)
@given(port_sets())
def test_readback_of_format_is_identity(ports):
    text = _ports.format_ports(ports)
    assert _ports.parse_kernel_readback(text) == ports
    assert _ports.parse_kernel_readback(text + '\n') == ports
    # The strict parser (used for user input and files) agrees with the trusted one.
    assert _ports.parse_kernel_string(text) == ports
    assert _ports.parse_ports(text) == ports


@settings(max_examples=300)
@given(port_sets())
def test_canonical_form_is_ascending_maximal_runs_without_duplicates(ports):
    text = _ports.format_ports(ports)
    assert CANONICAL.match(text)
    runs = []
    for piece in text.split(',') if text else []:
        low, _sep, high = piece.partition('-')
        low, high = int(low), int(high or low)
        assert low < high or not _sep, 'a single port is never written A-A'
        runs.append((low, high))
    for (_low1, high1), (low2, _high2) in zip(runs, runs[1:]):
        # ascending, not overlapping, not adjacent (else the runs would be one)
        assert low2 > high1 + 1
    assert sum(high - low + 1 for low, high in runs) == len(ports)
    assert runs == _ports.port_runs(ports)
    assert _ports.format_runs(ports) == [low if low == high else '%d-%d' % (low, high) for low, high in runs]


@settings(max_examples=300)
@given(st.lists(user_items(), max_size=40))
def test_format_of_parse_round_trips(items):
    ports = _ports.parse_ports(items)
    assert ports == expand(items)
    text = _ports.format_ports(ports)
    # Canonical text is a fixed point of parse + format, whatever the input order.
    assert _ports.format_ports(_ports.parse_ports(text)) == text
    assert _ports.parse_ports(list(reversed(items))) == ports
    assert _ports.parse_ports(_ports.format_runs(ports)) == ports


@settings(max_examples=200)
@given(st.lists(user_items(), min_size=1, max_size=30), st.sampled_from([',', '\n']), st.booleans())
def test_kernel_syntax_separators(items, separator, trailing_comma):
    text = separator.join('%s' % item for item in items) + (',' if trailing_comma else '')
    assert _ports.parse_kernel_string(text) == expand(items)


@settings(max_examples=200)
@given(port_sets(), st.tuples(PORT, PORT))
def test_capacity_matches_brute_force(ports, ends):
    low, high = min(ends), max(ends)
    expected = sum(1 for port in range(low, high + 1) if port not in ports)
    assert _ports.ephemeral_capacity((low, high), ports) == expected


@settings(max_examples=200)
@given(st.integers(min_value=-70000, max_value=140000))
def test_any_int_is_in_range_or_named_in_the_error(number):
    try:
        result = _ports.parse_ports([number], 'reserved')
    except PortSpecError as exc:
        assert not 1 <= number <= 65535
        assert str(exc).startswith('reserved: %d ' % number)
    else:
        assert 1 <= number <= 65535
        assert result == frozenset([number])


@settings(max_examples=300)
@given(st.text(alphabet='0123456789-,\n \tx+', max_size=20))
def test_kernel_string_is_refused_with_its_option_or_parsed(text):
    try:
        ports = _ports.parse_kernel_string(text, 'reserved')
    except PortSpecError as exc:
        assert str(exc).startswith('reserved: ')
        assert exc.option == 'reserved'
        # The offending value is the whole input or one comma/newline-separated piece of it.
        assert exc.value == text or exc.value in re.split(r'[,\n]', text)
    else:
        assert all(_ports.MIN_PORT <= port <= _ports.MAX_PORT for port in ports)
        assert ' ' not in text and '\t' not in text


def reference_runs(ports):
    """The obvious loop, to check the set-lookup version of port_runs against."""
    runs = []
    for port in sorted(set(ports)):
        if runs and port == runs[-1][1] + 1:
            runs[-1][1] = port
        else:
            runs.append([port, port])
    return [tuple(run) for run in runs]


@settings(max_examples=300)
@given(port_sets())
def test_port_runs_matches_reference(ports):
    assert _ports.port_runs(ports) == reference_runs(ports)
    assert _ports.port_runs(list(ports) + list(ports)) == reference_runs(ports)
    assert _ports.format_port_runs(_ports.port_runs(ports)) == _ports.format_ports(ports)


def _outcome(text):
    try:
        return _ports.parse_kernel_string(text, 'reserved')
    except PortSpecError as exc:
        return str(exc)


# The canonical syntax as one regular expression: the oracle for _ports._scan (which avoids
# this form because its repeated group costs memory per entry on long values).
_CANONICAL = re.compile(r'\A[1-9][0-9]{0,4}(?:-[1-9][0-9]{0,4})?(?:[,\n][1-9][0-9]{0,4}(?:-[1-9][0-9]{0,4})?)*\Z')
TEXTS = st.one_of(
    st.text(alphabet='0123456789-,\n', max_size=30),
    st.text(alphabet='0123456789-,\n x', max_size=12),
    st.lists(st.integers(min_value=0, max_value=999999), min_size=1, max_size=8).map(lambda xs: ','.join(map(str, xs))),
    st.lists(st.tuples(st.integers(1, 99999), st.integers(1, 99999)), min_size=1, max_size=5).map(
        lambda pairs: ','.join('%d-%d' % pair for pair in pairs)),
)


@settings(max_examples=600)
@given(TEXTS)
def test_well_formed_is_the_canonical_syntax(text):
    assert _ports._scan(text, bounds=False) == bool(_CANONICAL.match(text))


@settings(max_examples=400)
@given(TEXTS)
def test_fast_path_agrees_with_the_careful_parser(text):
    """parse_kernel_string takes the fast path (_parse_well_formed) first; switched off, the careful
    parser must give the same ports or the same error."""
    fast = _outcome(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_ports, '_parse_well_formed', lambda _body: None)
        careful = _outcome(text)
    assert fast == careful


@pytest.mark.parametrize('value, expected', [
    ('8080', True), ('8080-8082,9000\n', True), ('1-65535', True), ('65535', True),
    ('9000-8000', False), ('70000', False), ('1-70000', False), ('010', False), ('0x10', False), ('', False),
    ('8080,,9000', False), ('8080 ', False),
])
def test_well_formed_in_bounds_agrees_with_the_strict_parser(value, expected):
    assert _ports.well_formed_in_bounds(value) is expected
    if expected:
        assert _ports.parse_kernel_string(value)
