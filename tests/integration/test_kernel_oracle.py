# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel as the oracle for ``_ports`` parsing and ``_kernel.write_key``.

One worker process runs for the whole module inside a private network
namespace (``unshare --net``: the namespace disappears with the process).  It
reads JSON requests on stdin, writes exactly the given string to
``ip_local_reserved_ports`` or ``ip_local_port_range`` and answers with the
errno or the read-back.  Before every write it checks that its network
namespace is neither the test runner's (passed in) nor any other than the one
it verified as fresh at start; otherwise it exits without writing.

Properties, for generated kernel-syntax strings (valid, overlapping, adjacent,
duplicate and nasty variants):

* when ``parse_kernel_string`` accepts a string, the kernel accepts it too and
  reads back ``format_ports(parsed) + "\\n"`` byte for byte;
* when the kernel answers EINVAL, ``parse_kernel_string`` refuses the string;
* when the module refuses what the kernel accepts, the reason is one chosen on
  purpose (port 0, leading zero, hexadecimal, empty entry, NUL byte) and the
  message names the option and the value.

The same for ``parse_range`` against ``ip_local_port_range``, and for list
input through ``parse_ports`` -> ``format_ports`` -> ``write_key``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import nslab

if nslab.COLLECTIONS not in sys.path:
    sys.path.insert(0, nslab.COLLECTIONS)

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports  # noqa: E402
from ansible_collections.portguard.ephemeral.plugins.module_utils._ports import PortSpecError  # noqa: E402

RANGE_DEFAULT = '32768\t60999\n'
# Reset value for the reserved key between examples: not empty, so a write the
# kernel silently ignores cannot pass for one that cleared the list.
SENTINEL = '7\n'

# The worker.  argv: host namespace link.  Runs with the target's Python and
# imports the collection's module_utils (PYTHONPATH is set by the fixture).
WORKER = r'''
import errno, json, os, sys
from ansible_collections.portguard.ephemeral.plugins.module_utils import _kernel as _sysctl

host_link = sys.argv[1]
KEYS = {'reserved': _sysctl.RESERVED_KEY, 'range': _sysctl.RANGE_KEY,
        'unprivileged': _sysctl.UNPRIVILEGED_KEY}


def link():
    return os.readlink('/proc/self/ns/net')


def fail(message):
    sys.stderr.write('oracle worker: %s\n' % message)
    sys.stderr.flush()
    os._exit(97)


def read(key):
    fd = os.open(_sysctl.proc_path(KEYS[key]), os.O_RDONLY)
    try:
        return os.read(fd, 1 << 20).decode('latin-1')
    finally:
        os.close(fd)


my_link = link()
if my_link == host_link:
    fail('started in the test runner network namespace %s; refusing' % host_link)
# A namespace made for this process starts with the kernel defaults.
if read('range') != '32768\t60999\n' or read('reserved') != '\n':
    fail('namespace %s is not fresh (range %r, reserved %r); refusing' % (my_link, read('range'), read('reserved')))


def check_before_write():
    now = link()
    if now == host_link or now != my_link:
        fail('before a write: in %s, expected %s, runner %s; refusing' % (now, my_link, host_link))


def raw_write(key, data):
    check_before_write()
    fd = os.open(_sysctl.proc_path(KEYS[key]), os.O_WRONLY)
    try:
        try:
            return None, os.write(fd, data)
        except OSError as exc:
            return errno.errorcode.get(exc.errno, str(exc.errno)), 0
    finally:
        os.close(fd)


sys.stdout.write(json.dumps({'ready': my_link}) + '\n')
sys.stdout.flush()
for line in sys.stdin:
    req = json.loads(line)
    op = req['op']
    reply = {}
    if op == 'reset':
        for key, value in (('range', b'32768 60999\n'), ('reserved', req['reserved'].encode())):
            err, written = raw_write(key, value)
            if err or written != len(value) or read(key).encode() != value.replace(b' ', b'\t'):
                fail('reset of %s failed: %s' % (key, err))
    elif op == 'write':
        # Exactly these bytes, in ONE write() at offset 0.
        data = req['data'].encode('utf-8')
        reply['errno'], reply['written'] = raw_write(req['key'], data)
        reply['length'] = len(data)
    elif op == 'write_key':
        check_before_write()
        try:
            _sysctl.write_key(KEYS[req['key']], req['data'])
            reply['errno'] = None
        except _sysctl.SysctlError as exc:
            reply['errno'] = str(exc)
    elif op != 'read':
        fail('unknown op %r' % op)
    reply['readback'] = read(req['key']) if 'key' in req else None
    reply['link'] = link()
    sys.stdout.write(json.dumps(reply) + '\n')
    sys.stdout.flush()
'''


class Kernel(object):
    """Client side of the worker."""

    def __init__(self):
        env = dict(os.environ, PYTHONPATH=nslab.COLLECTIONS)
        self.proc = subprocess.Popen(
            ['unshare', '--net', nslab.TARGET_PYTHON, '-c', WORKER, nslab.host_ns_link()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        hello = self._recv()
        self.link = hello['ready']
        assert self.link != nslab.host_ns_link()
        self.unprivileged_port_start = int(self.call('read', key='unprivileged')['readback'])

    def _recv(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            raise AssertionError('oracle worker died (rc %s): %s' % (self.proc.returncode, self.proc.stderr.read()))
        return json.loads(line)

    def call(self, op, **req):
        req['op'] = op
        self.proc.stdin.write(json.dumps(req) + '\n')
        self.proc.stdin.flush()
        reply = self._recv()
        assert reply['link'] == self.link, 'worker changed namespace'
        return reply

    def reset(self, reserved=SENTINEL):
        self.call('reset', reserved=reserved)

    def write(self, key, data):
        """One write() of exactly ``data``; returns the reply after a reset."""
        self.reset()
        return self.call('write', key=key, data=data)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture(scope='module')
def kernel():
    nslab.ensure_root()
    worker = Kernel()
    try:
        yield worker
    finally:
        worker.close()
    assert worker.proc.returncode == 0


# ----------------------------------------------------------------------------- strategies

NASTY_NUMBERS = ['0', '00', '010', '08', '0x10', '0X1f', '+5', '-1', '-0', '65536', '99999999999999999999999',
                 'abc', '1a', 'x', '\u0663', '8080 ', ' 8080', '80\t81', '1\r', '', '5-', '-5', '8090-8080',
                 '1-2-3', '1-2\x00', '1\x00', '0-5', '65535-65536', '1--2', '1-0x10', '2-010']
NASTY_SEPARATORS = [', ', ' ,', ',,', ' ', '\t', ';', '\n\n', ',\n', '\n,', '\r\n', '\r', '-', '\x00', '\u00a0']
LEADING = ['', '', '\n', '\n\n']
TRAILING = ['', '', ',', '\n', ',\n', '\n\n', ',\n\n']
NASTY_LEADING = LEADING + [',', ' ', '\t', '\r', ',,', '\n,']
NASTY_TRAILING = TRAILING + [',,', ' ', '\t', '\r\n', '\r', '\n,', ', ']


@st.composite
def port_entries(draw):
    """Ports and ranges near one base, so that duplicates, overlaps and adjacency are common."""
    base = draw(st.one_of(st.integers(1, 65535), st.sampled_from([1, 1023, 1024, 32768, 60999, 65500])))
    near = st.integers(max(1, base - 20), min(65535, base + 20))
    anywhere = st.integers(1, 65535)
    port = st.one_of(near, near, anywhere, st.sampled_from([1, 65535]))
    entries = []
    for lo, hi, is_range in draw(st.lists(st.tuples(port, port, st.booleans()), max_size=8)):
        lo, hi = min(lo, hi), max(lo, hi)
        entries.append('%d-%d' % (lo, hi) if is_range else '%d' % lo)
    return entries


@st.composite
def reserved_strings(draw):
    kind = draw(st.sampled_from(['valid', 'valid', 'mutated', 'mutated', 'random']))
    if kind == 'random':
        return draw(st.text(alphabet='0123456789-,\n \t\rx+a\x00', max_size=16))
    entries = draw(port_entries())
    separators = [draw(st.sampled_from([',', ',', ',', '\n'])) for _entry in entries]
    if kind == 'mutated':
        for _round in range(draw(st.integers(1, 3))):
            if entries and draw(st.booleans()):
                entries[draw(st.integers(0, len(entries) - 1))] = draw(st.sampled_from(NASTY_NUMBERS))
            elif separators:
                separators[draw(st.integers(0, len(separators) - 1))] = draw(st.sampled_from(NASTY_SEPARATORS))
            else:
                entries.append(draw(st.sampled_from(NASTY_NUMBERS)))
                separators.append(',')
    body = ''.join(entry + sep for entry, sep in zip(entries, separators))[:-1] if entries else ''
    nasty_edges = kind == 'mutated' and draw(st.booleans())
    return (draw(st.sampled_from(NASTY_LEADING if nasty_edges else LEADING)) + body
            + draw(st.sampled_from(NASTY_TRAILING if nasty_edges else TRAILING)))


RANGE_NUMBERS = ['1024', '1025', '1023', '1', '0', '65535', '65536', '32768', '60999', '010', '040000', '0x400',
                 '+1024', '-1', 'abc', '08', '2048', '', '1e4', '\u0663']
RANGE_SEPARATORS = [' ', ' ', '\t', '\n', '  ', ' \t ', '\r', '\x0b', '\x0c', ',', '-', '', '\u00a0', ' \r']
RANGE_EDGES = ['', '', '', ' ', '\n', '\t', '\r', '\x0b', '\x0c', ' \n', '\x00']


@st.composite
def range_strings(draw):
    kind = draw(st.sampled_from(['pair', 'pair', 'tokens', 'random']))
    if kind == 'random':
        return draw(st.text(alphabet='0123456789 \t\n\rx+-a', max_size=14))
    pair = kind == 'pair'
    if pair:
        # Mostly well-formed LOW HIGH pairs: the ones the module must get exactly right.
        number = st.one_of(st.integers(1000, 65535), st.sampled_from([1023, 1024, 1025, 60999, 65535]))
        low, high = draw(number), draw(number)
        if draw(st.integers(0, 3)):
            low, high = min(low, high), max(low, high)
        numbers = ['%d' % low, '%d' % high]
    else:
        numbers = draw(st.lists(st.sampled_from(RANGE_NUMBERS), min_size=0, max_size=3))
    edges = RANGE_EDGES[:5] if pair else RANGE_EDGES
    text = draw(st.sampled_from(edges))
    for index, number in enumerate(numbers):
        if index:
            text += draw(st.sampled_from(RANGE_SEPARATORS[:6] if pair else RANGE_SEPARATORS))
        text += number
    return text + draw(st.sampled_from(edges))


# ----------------------------------------------------------------------------- checks

def _assert_names_value(exc, option, text):
    assert exc.option == option
    assert str(exc).startswith('%s: %r ' % (option, exc.value)), str(exc)
    if isinstance(exc.value, str):
        assert exc.value in text


def _refused_on_purpose(text, message):
    """The kernel accepted ``text``; is the module's refusal one of the deliberate ones?"""
    numbers = re.findall(r'[0-9a-zA-Z+]+', text)
    if 'port 0' in message:
        return '0' in numbers
    if 'octal' in message:
        return any(re.match(r'^0[0-9]+$', n) for n in numbers)
    if 'hexadecimal' in message:
        return any(re.match(r'^0[xX][0-9a-fA-F]+$', n) for n in numbers)
    if 'empty entry' in message:
        # The kernel takes any run of newlines after a separator; the module wants one separator.
        return bool(re.search(r'[,\n]\n', text.lstrip('\n').rstrip('\n').rstrip(',')))
    if 'not a port number' in message or 'is not a port or range' in message:
        # The kernel takes a NUL byte after the end of a range (tr_b in proc_do_large_bitmap);
        # the module refuses it, as an entry ('1\x00') or as a range ('1-1\x001-1').
        return '\x00' in text
    return False


def check_reserved_string(kernel, text):
    try:
        parsed = _ports.parse_kernel_string(text, 'reserved')
        refusal = None
    except PortSpecError as exc:
        parsed, refusal = None, exc
    if text == '':
        # A zero-byte write changes nothing; write_key sends "\n", which clears.
        reply = kernel.write('reserved', text)
        assert (reply['errno'], reply['written'], reply['readback']) == (None, 0, SENTINEL)
        assert parsed == frozenset()
        kernel.reset()
        reply = kernel.call('write_key', key='reserved', data=text)
        assert reply['readback'] == '\n'
        return
    reply = kernel.write('reserved', text)
    assert reply['errno'] in (None, 'EINVAL'), reply
    event('kernel %s, module %s' % (reply['errno'] or 'accepts', 'refuses' if refusal else 'accepts'))
    if refusal is None:
        assert reply['errno'] is None, 'module accepted %r, kernel answered %s' % (text, reply['errno'])
        assert reply['written'] == reply['length'], reply
        assert reply['readback'] == _ports.format_ports(parsed) + '\n'
        return
    _assert_names_value(refusal, 'reserved', text)
    if reply['errno'] is None:
        assert _refused_on_purpose(text, str(refusal)), (
            'the kernel accepted %r (reads %r) but the module refused it: %s' % (text, reply['readback'], refusal))
    else:
        assert reply['readback'] == SENTINEL, 'EINVAL must leave the value unchanged'


def check_range_string(kernel, text):
    start = kernel.unprivileged_port_start
    try:
        parsed = _ports.parse_range(text, 'range', start)
        refusal = None
    except PortSpecError as exc:
        parsed, refusal = None, exc
    reply = kernel.write('range', text)
    assert reply['errno'] in (None, 'EINVAL'), reply
    event('kernel %s, module %s' % (reply['errno'] or 'accepts', 'refuses' if refusal else 'accepts'))
    if text == '':
        # A zero-byte write changes nothing.
        assert (reply['errno'], reply['written'], reply['readback']) == (None, 0, RANGE_DEFAULT)
        assert refusal is not None and 'not two numbers' in str(refusal)
        return
    if refusal is None:
        assert reply['errno'] is None, 'module accepted %r, kernel answered %s' % (text, reply['errno'])
        assert reply['written'] == reply['length'], 'the kernel ignored part of %r: %r' % (text, reply)
        assert reply['readback'] == _ports.format_range(parsed) + '\n'
        return
    _assert_names_value(refusal, 'range', text)
    message = str(refusal)
    if reply['errno'] is not None:
        assert reply['readback'] == RANGE_DEFAULT, 'EINVAL must leave the value unchanged'
        return
    # The kernel took it, the module did not: only on purpose.
    numbers = text.split()
    if 'not two numbers' in message and len(numbers) == 1:
        # One number changes only LOW: the module must refuse it.
        low, high = _ports.parse_range_readback(reply['readback'])
        assert high == 60999
        if re.match(r'^[1-9][0-9]*$', numbers[0]):
            assert low == int(numbers[0])
    elif 'not two numbers' in message:
        assert len(numbers) > 2 and reply['written'] < reply['length'], (
            'the kernel ignores values after the second (short write): %r' % reply)
    elif 'rejects between the numbers' in message:
        assert re.search(r'[^\S \t\n]', text)
    else:
        assert any(word in message for word in ('octal', 'hexadecimal')), (
            'the kernel accepted %r (reads %r) but the module refused it: %s' % (text, reply['readback'], message))


# The brief's nasty variants, always run (on top of the generated ones).
RESERVED_EXAMPLES = [
    '8080,8081', '8082,8080,8081', '5,4-6,1', '8080-8080', '8080-8085,8083-8090', '8080,8081,8082-8083',
    '8080,8080', '8080 ,8081', '8080, 8081', '8080\t', ' 8080', '8080\r', '8080\r\n9000', ',8080',
    '8080,,8081', '8080,', '8080,\n', '\n\n8080\n', '8080\n\n9000', '8080,\n9000', '010', '08', '0x10',
    '+5', '-1', '65536', '65535', '0', '0-5', '8090-8080', 'abc', '', '\n', ',', '1-2\x00', '8080;8081',
]
RANGE_EXAMPLES = [
    '32768 60999', '1024 65535', '1024\t2047\n', '\n40000\n50001\n', '40000 40000', '2000 1999', '1023 2000',
    '1000 2000', '40000', '40000 50000 60000', 'abc', 'abc def', '', ' ', '0 100', '1024 65536', '010 2000',
    '040000 60999', '0x8000 60999', '+1024 2000', '-1 2000', '1024\r2000', '\r1024 2000', '1024 2000\r',
    '32768,60999', '32768-60999',
]


def _with_examples(values):
    def decorate(func):
        for value in reversed(values):
            func = example(value)(func)
        return func
    return decorate


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@_with_examples(RESERVED_EXAMPLES)
@given(reserved_strings())
def test_reserved_string_agrees_with_kernel(kernel, text):
    check_reserved_string(kernel, text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@_with_examples(RANGE_EXAMPLES)
@given(range_strings())
def test_range_string_agrees_with_kernel(kernel, text):
    check_range_string(kernel, text)


def test_single_number_range_changes_only_low_and_module_refuses(kernel):
    reply = kernel.write('range', '40000')
    assert reply['errno'] is None
    assert reply['readback'] == '40000\t60999\n'
    with pytest.raises(PortSpecError) as info:
        _ports.parse_range('40000', 'range', kernel.unprivileged_port_start)
    assert str(info.value).startswith("range: '40000' is not two numbers")


NASTY_ITEMS = [0, -1, 65536, True, '010', '0x10', '8090-8080', '80 81', '', None, 1.5, '1-2-3', '+5']


@st.composite
def port_lists(draw):
    """(items, index of the one bad item or None)."""
    items = []
    for entry in draw(port_entries()):
        if '-' not in entry and draw(st.booleans()):
            items.append(int(entry))
        else:
            items.append(draw(st.sampled_from(['', ' '])) + entry + draw(st.sampled_from(['', ' '])))
    bad = None
    if items and draw(st.integers(0, 4)) == 0:
        bad = draw(st.integers(0, len(items) - 1))
        items[bad] = draw(st.sampled_from(NASTY_ITEMS))
    return items, bad


def _model(items):
    ports = set()
    for item in items:
        if isinstance(item, int):
            ports.add(item)
        else:
            lo, _sep, hi = item.strip().partition('-')
            ports.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(ports)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(([8081, 8080], None))
@example((['8080-8085', '8083-8090', 8091, 8091], None))
@example(([1, 65535, '2-3'], None))
@example(([8080, 0], 1))
@given(port_lists())
def test_list_input_written_by_write_key_reads_back_canonical(kernel, case):
    items, bad = case
    try:
        parsed = _ports.parse_ports(items, 'reserved')
    except PortSpecError as exc:
        assert bad is not None, 'refused a valid list %r: %s' % (items, exc)
        assert exc.option == 'reserved'
        assert str(exc).startswith('reserved: %r ' % (items[bad],))
        assert exc.value == items[bad] and type(exc.value) is type(items[bad])
        return
    assert bad is None, 'accepted %r with the bad item %r' % (items, items[bad])
    assert parsed == _model(items)
    kernel.reset()
    reply = kernel.call('write_key', key='reserved', data=_ports.format_ports(parsed))
    assert reply['errno'] is None, reply
    assert reply['readback'] == _ports.format_ports(parsed) + '\n'
    assert _ports.parse_kernel_readback(reply['readback']) == _model(items)


EVERY_OTHER = frozenset(range(1025, 65536, 2))


def test_worst_case_list_written_whole_by_write_key(kernel):
    value = _ports.format_ports(EVERY_OTHER)
    assert len(value) + 1 > 180000
    kernel.reset()
    reply = kernel.call('write_key', key='reserved', data=value)
    assert reply['errno'] is None, reply
    # Read back whole in one read (the kernel answers a read only once).
    assert reply['readback'] == value + '\n'
    assert _ports.parse_kernel_readback(reply['readback']) == EVERY_OTHER


def test_worst_case_list_in_one_write_is_truncated(kernel):
    """Why write_key loops: one write() takes at most 4095 bytes, the rest is dropped."""
    value = _ports.format_ports(EVERY_OTHER) + '\n'
    reply = kernel.write('reserved', value)
    assert reply['errno'] is None
    assert 0 < reply['written'] <= _ports.KERNEL_WRITE_CHUNK < reply['length']
    kept = _ports.parse_kernel_readback(reply['readback'])
    # The kernel stops at an entry boundary: exactly the entries in the bytes it took.
    assert kept == _ports.parse_kernel_string(value[:reply['written']], 'reserved')
    assert kept < EVERY_OTHER and len(kept) < len(EVERY_OTHER) // 10
