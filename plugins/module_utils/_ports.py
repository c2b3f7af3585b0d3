# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port sets and ranges: parsing, validation and the kernel's canonical form.

Private to the collection. Pure functions, standard library only, no
AnsibleModule import: the modules, the filter plugins and the tests share it.

A port set is a ``frozenset`` of ints.  The kernel prints
``net.ipv4.ip_local_reserved_ports`` ascending, comma separated, with maximal
runs written ``A-B`` and single ports as ``A`` (``8082,8080,8081`` reads back as
``8080-8082``).  ``format_ports`` produces exactly that form, so comparing two
canonical strings is the same as comparing the sets, but the code compares sets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import re

MIN_PORT = 1
MAX_PORT = 65535
# The kernel accepts at most this many bytes per write(); procps sysctl does a
# single write() and drops the rest of a longer value without an error.
KERNEL_WRITE_CHUNK = 4095

_DECIMAL = re.compile(r'^(?:0|[1-9][0-9]*)$')
_ITEM = re.compile(r'^([^-]*)(?:-(.*))?$')
# A kernel-syntax body with nothing to complain about but, perhaps, a number
# above 65535 or a reversed range (checked after).  Long lists take this path;
# anything else goes through the piece-by-piece parser, which names the error.
# The canonical syntax: NUMBER or NUMBER-NUMBER joined by "," or newline, numbers of
# 1-5 digits without a leading zero.  Checked with string methods and a chunk of
# entries at a time: one regular expression with a repeated group keeps a
# backtracking record per entry, and one split a string per entry (about 9 MB
# and 2 MB for 32k ports; the module's whole budget is 50 MB).
_CANONICAL_CHARS = frozenset('0123456789,\n-')
_NOT_CANONICAL = (',,', ',\n', '\n,', '\n\n', '--', ',-', '-,', '\n-', '-\n', ',0', '\n0', '-0')
_CHUNK = 8192


def _chunks(body):
    """The entries of ``body`` as lists of strings, about _CHUNK characters of text at a time."""
    text = body.replace('\n', ',')
    start = 0
    while start < len(text):
        end = text.find(',', start + _CHUNK)
        end = len(text) if end < 0 else end
        yield text[start:end], text[start:end].split(',')
        start = end + 1


def _scan(body, ports=None, bounds=True):
    """Whether ``body`` is in the canonical syntax (and, with ``bounds``, every number and range in
    bounds); with ``ports`` (a set), its ports are added to it on the way."""
    if body == '' or body[0] in ',\n-0' or body[-1] in ',\n-':
        return False
    if not set(body) <= _CANONICAL_CHARS or any(bad in body for bad in _NOT_CANONICAL):
        return False
    for text, pieces in _chunks(body):
        if '-' not in text:
            if max(map(len, pieces)) > 5:
                return False
            numbers = list(map(int, pieces))
            if bounds and max(numbers) > MAX_PORT:
                return False
            if ports is not None:
                ports.update(numbers)
            continue
        for piece in pieces:
            low, sep, high = piece.partition('-')
            if len(low) > 5 or len(high) > 5 or '-' in high:
                return False
            low = int(low)
            high = int(high) if sep else low
            if bounds and (high < low or high > MAX_PORT):
                return False
            if ports is not None:
                ports.update(range(low, high + 1))
    return True


class PortSpecError(ValueError):
    """A port, port list or range that must not reach the kernel.

    ``option`` names the option or variable the value came from, ``value`` is the
    offending piece, ``hint`` says what to write instead.
    """

    def __init__(self, option, value, problem, hint=None):
        self.option = option
        self.value = value
        self.problem = problem
        self.hint = hint
        msg = '%s: %r %s' % (option, value, problem)
        if hint:
            msg += '; %s' % hint
        super(PortSpecError, self).__init__(msg)


def _parse_number(text, option, whole, minimum=MIN_PORT):
    """Parse one decimal port number as the user wrote it, strictly."""
    if isinstance(text, bool):
        raise PortSpecError(option, whole, 'is a boolean, not a port number')
    if isinstance(text, int):
        number = text
    else:
        if not isinstance(text, str):
            raise PortSpecError(option, whole, 'is a %s, not a port number' % type(text).__name__,
                                'use an integer or a "LOW-HIGH" string')
        if text == '':
            raise PortSpecError(option, whole, 'has an empty port number',
                                'remove the stray separator')
        if not _DECIMAL.match(text):
            if re.match(r'^0[0-9]+$', text):
                raise PortSpecError(option, whole,
                                    'has a leading zero: the kernel would read %r as octal' % text,
                                    'write the port in decimal without leading zeros')
            if re.match(r'^0[xX][0-9a-fA-F]+$', text):
                raise PortSpecError(option, whole, 'is hexadecimal', 'write the port in decimal')
            if re.search(r'\s', text):
                raise PortSpecError(option, whole,
                                    'contains white space, which the kernel rejects (EINVAL)',
                                    'separate ports with commas and no spaces, or give a list')
            raise PortSpecError(option, whole, 'is not a port number',
                                'use integers 1-65535 and ranges written "LOW-HIGH"')
        number = int(text)
    if number < minimum or number > MAX_PORT:
        if number == 0:
            raise PortSpecError(option, whole, 'contains port 0, which is not a real port',
                                'use ports %d-%d' % (minimum, MAX_PORT))
        raise PortSpecError(option, whole, 'is outside %d-%d' % (minimum, MAX_PORT),
                            'use ports %d-%d' % (minimum, MAX_PORT))
    return number


def _parse_item(item, option):
    """One list element: an int, or a string ``"P"`` or ``"A-B"``. Returns (lo, hi)."""
    if isinstance(item, bool):
        raise PortSpecError(option, item, 'is a boolean, not a port')
    if isinstance(item, int):
        port = _parse_number(item, option, item)
        return port, port
    if not isinstance(item, str):
        raise PortSpecError(option, item, 'is a %s, not a port or range' % type(item).__name__,
                            'use an integer or a "LOW-HIGH" string')
    text = item.strip()
    if text == '':
        raise PortSpecError(option, item, 'is empty', 'remove the empty entry')
    match = _ITEM.match(text)
    low_text, high_text = match.group(1), match.group(2)
    if high_text is not None and '-' in high_text:
        raise PortSpecError(option, item, 'is not a port or range',
                            'write a range as "LOW-HIGH" with two positive numbers')
    low = _parse_number(low_text.strip(), option, item)
    if high_text is None:
        return low, low
    high = _parse_number(high_text.strip(), option, item)
    if high < low:
        raise PortSpecError(option, item, 'is a reversed range (the kernel rejects it with EINVAL)',
                            'write it as "%d-%d"' % (high, low))
    return low, high


def well_formed_in_bounds(value):
    """True when ``value`` is in the canonical syntax (as this collection writes it) with every number and
    range in bounds; checked without building the port set, which for long lists costs megabytes."""
    return _scan(value.strip('\n'))


def _parse_well_formed(body):
    """Ports of a body in the canonical syntax, or None if it is not or a number or range is out of bounds."""
    ports = set()
    return frozenset(ports) if _scan(body, ports) else None


def parse_kernel_string(value, option='reserved'):
    """Parse a value written in the kernel's input syntax, strictly.

    Accepts a strict subset of what the kernel accepts: ``,`` or newline
    separators, one trailing comma, leading and trailing newlines.  Refused
    although the kernel takes them: port 0, leading zeros (octal), hexadecimal,
    blank lines and empty entries (almost certainly a mistake).  Everything the
    kernel answers with EINVAL is refused here first, with the offending piece.
    """
    if not isinstance(value, str):
        raise PortSpecError(option, value, 'is not a string')
    body = value.strip('\n')
    if body.endswith(','):
        body = body[:-1]
    ports = set()
    if body == '':
        if value.strip('\n') == ',':
            raise PortSpecError(option, value, 'is a lone comma', 'use an empty list to reserve nothing')
        return frozenset()
    quick = _parse_well_formed(body)
    if quick is not None:
        return quick
    for piece in re.split(r'[,\n]', body):
        if piece == '':
            raise PortSpecError(option, value, 'has an empty entry (a leading comma, ",,", a blank line '
                                'or a comma before a newline)', 'use one comma or one newline between entries')
        if re.search(r'\s', piece):
            raise PortSpecError(option, piece,
                                'contains white space, which the kernel rejects (EINVAL)',
                                'separate ports with commas and no spaces, or give a list')
        match = _ITEM.match(piece)
        low_text, high_text = match.group(1), match.group(2)
        if high_text is not None and '-' in high_text:
            raise PortSpecError(option, piece, 'is not a port or range',
                                'write a range as "LOW-HIGH" with two positive numbers')
        low = _parse_number(low_text, option, piece)
        high = low if high_text is None else _parse_number(high_text, option, piece)
        if high < low:
            raise PortSpecError(option, piece, 'is a reversed range (the kernel rejects it with EINVAL)',
                                'write it as "%d-%d"' % (high, low))
        ports.update(range(low, high + 1))
    return frozenset(ports)


def parse_ports(value, option='reserved'):
    """Parse user input for a port set.

    ``value`` is a list of ints and ``"A-B"`` strings (a bare int or string is
    taken as a one-element list), or a string in the kernel's syntax
    (``"8080-8082,9000"``).  ``None`` is the empty set.
    """
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return parse_kernel_string(value, option)
    if isinstance(value, bool):
        raise PortSpecError(option, value, 'is a boolean, not a port list')
    if isinstance(value, int):
        value = [value]
    if isinstance(value, (set, frozenset)):
        value = sorted(value)
    if not isinstance(value, (list, tuple)):
        raise PortSpecError(option, value, 'is a %s, not a list of ports' % type(value).__name__,
                            'give a list of ports and "LOW-HIGH" ranges')
    ports = set()
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool) and MIN_PORT <= item <= MAX_PORT:  # common, fast
            ports.add(item)
            continue
        low, high = _parse_item(item, option)
        if low == high:
            ports.add(low)
        else:
            ports.update(range(low, high + 1))
    return frozenset(ports)


def _iter_runs(ports):
    """Maximal runs of consecutive ports, ascending, one (lo, hi) at a time."""
    start = prev = None
    for port in sorted(ports):
        if prev is not None and port <= prev + 1:  # next in the run (or a duplicate)
            prev = port
            continue
        if start is not None:
            yield start, prev
        start = prev = port
    if start is not None:
        yield start, prev


def port_runs(ports):
    """Maximal runs of consecutive ports, ascending: [(lo, hi), ...]."""
    return list(_iter_runs(ports))


def _write_runs(runs, out):
    """Write runs in the canonical form to ``out``; return the number of ports.

    Written a thousand runs at a time: one join of every run would first hold a
    string per run (about 2 MB for 32k single ports) next to the result.
    """
    count = 0
    pieces = []
    sep = ''
    for lo, hi in runs:
        pieces.append('%d' % lo if lo == hi else '%d-%d' % (lo, hi))
        count += hi - lo + 1
        if len(pieces) == 1024:
            out.write(sep + ','.join(pieces))
            pieces, sep = [], ','
    if pieces:
        out.write(sep + ','.join(pieces))
    return count


def format_ports(ports):
    """The kernel's canonical read form, without the trailing newline."""
    return format_port_runs(_iter_runs(ports))


def format_port_runs(runs):
    """``format_ports`` for runs already computed by ``port_runs``."""
    out = io.StringIO()
    _write_runs(runs, out)
    return out.getvalue()


def format_runs(ports):
    """The canonical form as a list: ints for single ports, "A-B" strings for runs."""
    return [lo if lo == hi else '%d-%d' % (lo, hi) for lo, hi in _iter_runs(ports)]


def port_set(ports):
    """A port set as every module result carries it: {canonical, ranges, count}.

    ``canonical`` is the kernel's canonical string, ``ranges`` the same as a
    list (``format_runs``), ``count`` the number of ports.
    """
    out = io.StringIO()
    ranges = []

    def runs():
        for lo, hi in _iter_runs(ports):
            ranges.append(lo if lo == hi else '%d-%d' % (lo, hi))
            yield lo, hi
    count = _write_runs(runs(), out)
    return {'canonical': out.getvalue(), 'ranges': ranges, 'count': count}


def parse_kernel_readback(text):
    """Parse what the kernel prints (trusted, canonical) into a port set."""
    body = text.strip()
    ports = set()
    if not body:
        return frozenset()
    if '-' not in body:
        return frozenset(map(int, body.split(',')))
    for piece in body.split(','):
        low, sep, high = piece.partition('-')
        low = int(low)
        if sep:
            ports.update(range(low, int(high) + 1))
        else:
            ports.add(low)
    return frozenset(ports)


def parse_range(value, option='range', unprivileged_port_start=1024):
    """Parse the ephemeral range: ``"LOW HIGH"``, ``[LOW, HIGH]``.

    Enforces the kernel's rule ``ip_unprivileged_port_start <= LOW <= HIGH <=
    65535``, and refuses reversed ranges, leading zeros (octal) and port 0.
    """
    if isinstance(value, str):
        # The kernel separates the numbers with spaces, tabs and newlines only;
        # str.split() would also take \r, \v, \f and Unicode spaces (EINVAL there).
        odd = re.search(r'[^\S \t\n]', value)
        if odd:
            raise PortSpecError(option, value, 'contains %r, which the kernel rejects between the numbers (EINVAL)'
                                % odd.group(), 'separate LOW and HIGH with a space')
        parts = value.split()
        if len(parts) != 2:
            raise PortSpecError(option, value, 'is not two numbers',
                                'write the range as "LOW HIGH", e.g. "32768 60999", or [LOW, HIGH]')
    elif isinstance(value, (list, tuple)):
        parts = list(value)
        if len(parts) != 2:
            raise PortSpecError(option, value, 'is not a pair of numbers',
                                'give [LOW, HIGH], e.g. [32768, 60999]')
    else:
        raise PortSpecError(option, value, 'is a %s, not a range' % type(value).__name__,
                            'write the range as "LOW HIGH" or [LOW, HIGH]')
    parsed = []
    for part in parts:
        if isinstance(part, str):
            part = part.strip()
        parsed.append(_parse_number(part, option, value))
    low, high = parsed
    if high < low:
        raise PortSpecError(option, value, 'is reversed (LOW %d > HIGH %d)' % (low, high),
                            'write it as "%d %d"' % (high, low))
    floor = max(int(unprivileged_port_start), MIN_PORT)
    if low < floor:
        raise PortSpecError(option, value,
                            'starts below net.ipv4.ip_unprivileged_port_start (%d); the kernel rejects it'
                            % floor, 'choose LOW >= %d' % floor)
    return low, high


def format_range(port_range, separator='\t'):
    """``(low, high)`` as the kernel prints it (tab) or as a file holds it (space)."""
    return '%d%s%d' % (port_range[0], separator, port_range[1])


def parse_range_readback(text):
    """Parse the kernel's ``LOW<TAB>HIGH`` read form."""
    low, high = text.split()[:2]
    return int(low), int(high)


def ephemeral_capacity(port_range, reserved):
    """Ports left for automatic assignment: range size minus reserved ports in it."""
    low, high = port_range
    inside = len([port for port in reserved if low <= port <= high])
    return high - low + 1 - inside
