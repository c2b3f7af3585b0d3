# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ephemeral port pressure: per destination, the local ports of the effective range in use and left.

Private to the collection; standard library only.  One pass over the raw
/proc/net/{tcp,tcp6,udp,udp6} tables (``_sockets.read_table``) groups the
sockets by destination; ``report`` then counts them against any range and
reserved set, so local_ports judges before and after a change from one scan.

What the kernel does (net/ipv4/inet_hashtables.c ``__inet_hash_connect``,
net/ipv4/udp.c ``udp_lib_get_port``; measured in private namespaces, see
docs/choosing.md), and so what is counted:

- The effective range ``E`` is the range size minus the reserved ports inside
  it (``_ports.ephemeral_capacity``): the only ports an automatic choice takes.
- TCP ``connect()`` without ``bind()`` needs a port of the effective range
  that is unique for its 4-tuple (local address, local port, remote address,
  remote port), so exhaustion is per destination: a port used for one
  destination is still free for another, and for the same destination from
  another local address.  A destination is therefore (tcp, local address,
  remote address, remote port), and ``local_address`` is always set.
- A port held by ``bind()`` (its bind bucket is not a connect() bucket) is
  skipped by every TCP ``connect()``, whatever its address or family.  In the
  tables such ports are the TCP listeners' (LISTEN, on a wildcard or a specific
  address, IPv4 or IPv6): they are taken from every TCP destination
  (``held_for_every_destination.tcp``).  A bound socket that neither listens nor
  connects is not in the tables, and a client that ``bind()``s before
  ``connect()`` (without ``IP_BIND_ADDRESS_NO_PORT``) holds its port for every
  destination too; the tables cannot tell it from an ordinary client, so
  ``left`` is an upper bound for such clients.
- UDP autobind (``connect()`` or ``sendto()`` on an unbound socket) picks a
  port that no UDP socket uses on any address, IPv4 or IPv6 (the autobind
  happens before a local address is chosen): the limit is the same for every
  UDP destination.  A UDP destination is (udp, remote address, remote port),
  ``local_address`` is null, and ``left`` is ``E`` minus every UDP port of the
  effective range in use (``held_for_every_destination.udp`` counts them all,
  connected or not).
- TCP and UDP are separate port spaces; IPv4 and IPv6 share each one.  An
  IPv4-mapped IPv6 address (``::ffff:10.0.0.9``) is the IPv4 address: such a
  tcp6 socket and a tcp socket with the same addresses share one 4-tuple space.
- Counted per destination: every socket that is not a listener (TCP LISTEN,
  UDP with no peer), whose local port has no listener of the same protocol
  (an accepted connection shares its listener's port: that is the server
  side, already counted as held by the listener), in any other state:
  ESTABLISHED, SYN_SENT, FIN_WAIT1/2, CLOSE_WAIT, LAST_ACK, CLOSING, TIME_WAIT
  (60 s; no process owns it) and connected UDP.  ``in_use`` is the number of
  distinct local ports of the effective range among them, ``states`` counts
  those sockets by state, ``outside_range`` counts the sockets to the
  destination whose port is outside the effective range (outside the range, or
  reserved): they take nothing an automatic choice could have.
- ``left = E - |(ports in use for the destination) | (ports held for every
  destination)|``, both taken inside the effective range: the ports a new
  connection to that destination can still get.  The ends' parity is not
  counted (with the same parity one edge port is never picked; local_ports
  warns about it), nor ``tcp_tw_reuse`` (its default, 2, lets ``connect()``
  reuse a TIME_WAIT port to a loopback destination).

Listed: the destinations by ``left`` ascending (then most ``in_use`` first),
the first ``limit`` of them; ``destination_count`` counts them all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports, _sockets
from ansible_collections.portguard.ephemeral.plugins.module_utils._task import TaskError

DEFAULT_LIMIT = 10
# A change may not leave a destination fewer free ports than this (when it lowers them):
# with the 60 s TIME_WAIT, 1024 ports are about 17 new connections per second to that
# destination on top of today's, or a burst of 1024.
DEFAULT_MIN_FREE = 1024
MAX_LISTED_PROBLEMS = 10
# The order states are shown in: a live connection's first, then the closing ones.
STATE_ORDER = ('ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'LAST_ACK',
               'CLOSING', 'TIME_WAIT')
_MAPPED = '::ffff:'


class Destination(object):
    """The sockets to one destination: [(local port, state code)]."""

    __slots__ = ('protocol', 'local_address', 'remote_address', 'remote_port', 'sockets')

    def __init__(self, protocol, local_address, remote_address, remote_port):
        self.protocol = protocol
        self.local_address = local_address
        self.remote_address = remote_address
        self.remote_port = remote_port
        self.sockets = []


class Connections(object):
    """What ``scan`` found: the destinations, and the ports held for every destination (ints)."""

    def __init__(self, destinations, tcp_held, udp_ports):
        self.destinations = destinations
        self.tcp_held = frozenset(tcp_held)
        self.udp_ports = frozenset(udp_ports)


class Ephemeral(object):
    """The effective range: ``port in ephemeral`` for a port an automatic choice can take."""

    def __init__(self, port_range, reserved):
        self.low, self.high = int(port_range[0]), int(port_range[1])
        self.reserved = frozenset(reserved)
        self.size = _ports.ephemeral_capacity((self.low, self.high), self.reserved)

    def __contains__(self, port):
        return self.low <= port <= self.high and port not in self.reserved


# ---------------------------------------------------------------- the scan

def read_tables(directory=None):
    """The raw tables of the current thread's namespace: {protocol: bytes}."""
    directory = directory or _sockets.net_dir()
    return dict((protocol, _sockets.read_table(protocol, directory)) for protocol in _sockets.PROTOCOLS)


def _space(protocol):
    return 'tcp' if protocol.startswith('tcp') else 'udp'


def _group(protocol, data, skip_ports, groups, found):
    """Group one table's lines by destination, still in hex: groups[(space, key)] = [(port hex, state)].

    The fields sit at fixed offsets after the first colon (as in
    ``_sockets._offsets``); only slices are taken, nothing is decoded here.
    Listeners and the sockets on their ports are left out; every UDP port goes
    into ``found['udp']``, and a TCP socket with no peer into ``found['tcp']``
    (held by bind()).
    """
    width = 32 if protocol.endswith('6') else 8
    port_at = width + 3
    remote_at = port_at + 5
    state_at = remote_at + width + 6
    listen = _sockets.listen_code(protocol).encode('ascii')
    space = _space(protocol)
    tcp = space == 'tcp'
    for line in data.split(b'\n')[1:]:
        colon = line.find(b':')
        if colon < 0:
            continue
        port = line[colon + port_at:colon + port_at + 4]
        if not tcp:
            found['udp'].add(port)
        if port in skip_ports or line[colon + state_at:colon + state_at + 2] == listen:
            continue
        remote = line[colon + remote_at:colon + remote_at + width + 5]
        if remote.endswith(b':0000'):
            if tcp:
                found['tcp'].add(port)
            continue
        key = (line[colon + 2:colon + 2 + width] + b'/' + remote) if tcp else remote
        group = groups.get((space, key))
        if group is None:
            groups[(space, key)] = group = []
        group.append((port, line[colon + state_at:colon + state_at + 2]))


def _address(hex_addr, cache):
    """A table address as text, IPv4-mapped IPv6 as the IPv4 address."""
    text = cache.get(hex_addr)
    if text is None:
        text = _sockets.decode_address(hex_addr.decode('ascii'))
        if text.startswith(_MAPPED) and '.' in text:
            text = text[len(_MAPPED):]
        cache[hex_addr] = text
    return text


def _destinations(groups):
    """Decode the grouped keys, merging what the mapped addresses make equal."""
    cache = {}
    merged = {}
    for (space, key), group in groups.items():
        local_hex, _sep, remote = key.rpartition(b'/')
        remote_hex, _sep, port_hex = remote.partition(b':')
        local = _address(local_hex, cache) if space == 'tcp' else None
        ident = (space, local, _address(remote_hex, cache), int(port_hex, 16))
        dest = merged.get(ident)
        if dest is None:
            merged[ident] = dest = Destination(*ident)
        dest.sockets.extend((int(port, 16), state.decode('ascii')) for port, state in group)
    return list(merged.values())


def scan(tables):
    """Group the sockets of the raw tables ({protocol: bytes}, see read_tables) by destination.

    Raises ValueError on a table it cannot read.
    """
    held = {'tcp': set(), 'udp': set()}
    for protocol, data in tables.items():
        held[_space(protocol)].update(_sockets.listening_ports_in(protocol, data))
    skip = dict((space, frozenset(('%04X' % port).encode('ascii') for port in ports)) for space, ports in held.items())
    groups = {}
    found = {'tcp': set(), 'udp': set()}
    for protocol in _sockets.PROTOCOLS:
        _group(protocol, tables.get(protocol) or b'', skip[_space(protocol)], groups, found)
    try:
        held['tcp'].update(int(port, 16) for port in found['tcp'])
        return Connections(_destinations(groups), held['tcp'], [int(port, 16) for port in found['udp']])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError('malformed socket table line: %s' % exc)


# ---------------------------------------------------------------- counting against a range

def _count(dest, ephemeral, held):
    """One destination against one effective range: a row (dict) with ``left``."""
    ports = set()
    states = {}
    outside = 0
    for port, state in dest.sockets:
        if port in ephemeral:
            ports.add(port)
            states[state] = states.get(state, 0) + 1
        else:
            outside += 1
    left = ephemeral.size - len(held) - len(ports - held)
    names = dict((_sockets.state_name(dest.protocol, code), number) for code, number in states.items())
    return {
        'protocol': dest.protocol,
        'remote_address': dest.remote_address,
        'remote_port': dest.remote_port,
        'local_address': dest.local_address,
        'in_use': len(ports),
        'states': names,
        'outside_range': outside,
        'left': max(left, 0),
    }


def _order(row):
    return (row['left'], -row['in_use'], row['protocol'], row['remote_address'], row['remote_port'],
            row['local_address'] or '')


def rows(connections, port_range, reserved):
    """Every destination counted against the range and reserved set, in scan order; and the held counts."""
    ephemeral = Ephemeral(port_range, reserved)
    held = {
        'tcp': frozenset(port for port in connections.tcp_held if port in ephemeral),
        'udp': frozenset(port for port in connections.udp_ports if port in ephemeral),
    }
    counted = [_count(dest, ephemeral, held[dest.protocol]) for dest in connections.destinations]
    return ephemeral, held, counted


def report(connections, port_range, reserved, limit=DEFAULT_LIMIT):
    """The ``pressure`` result: the effective range and the tightest ``limit`` destinations."""
    ephemeral, held, counted = rows(connections, port_range, reserved)
    return _shape(ephemeral, held, counted, limit)


def _shape(ephemeral, held, counted, limit):
    listed = sorted(counted, key=_order)[:limit]
    return {
        'range': [ephemeral.low, ephemeral.high],
        'effective': ephemeral.size,
        'held_for_every_destination': {'tcp': len(held['tcp']), 'udp': len(held['udp'])},
        'destination_count': len(counted),
        'limit': limit,
        'destinations': listed,
    }


# ---------------------------------------------------------------- options

def _non_negative_int(value, option, default):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise TaskError('%s: %r is not a number; give a whole number of 0 or more' % (option, value), option=option)
    if value < 0 or value > _ports.MAX_PORT:
        raise TaskError('%s: %r is outside 0-%d' % (option, value, _ports.MAX_PORT), option=option)
    return value


def check_options(min_free_per_destination=DEFAULT_MIN_FREE, pressure_limit=DEFAULT_LIMIT):
    """Refuse a negative threshold or limit (TaskError naming the option)."""
    _non_negative_int(min_free_per_destination, 'min_free_per_destination', DEFAULT_MIN_FREE)
    _non_negative_int(pressure_limit, 'pressure_limit', DEFAULT_LIMIT)


# ---------------------------------------------------------------- local_ports: before and after a change

def takes_ports(range_before, reserved_before, range_after, reserved_after):
    """Whether a port of the effective range before is not in it after (the only way ``left`` can drop)."""
    (low0, high0), (low1, high1) = range_before, range_after
    for low, high in ((low0, min(high0, low1 - 1)), (max(low0, high1 + 1), high0)):
        if low <= high and high - low + 1 > len([port for port in reserved_before if low <= port <= high]):
            return True
    low, high = max(low0, low1), min(high0, high1)
    return any(low <= port <= high for port in frozenset(reserved_after) - frozenset(reserved_before))


def destination_text(row):
    """``tcp 10.0.0.5 -> 10.0.0.9:5432`` (udp: no local address)."""
    remote = _sockets.endpoint(row['remote_address'], row['remote_port'])
    if row['local_address'] is None:
        return '%s -> %s' % (row['protocol'], remote)
    return '%s %s -> %s' % (row['protocol'], row['local_address'], remote)


def _states_text(states):
    ordered = sorted(states, key=lambda name: (STATE_ORDER.index(name) if name in STATE_ORDER else len(STATE_ORDER),
                                               name))
    return ', '.join('%s %d' % (name, states[name]) for name in ordered)


def _problem(before, after):
    return ('%s has %d local ports of the range in use (%s): %d left now, %d after this change'
            % (destination_text(before), before['in_use'], _states_text(before['states']) or 'none',
               before['left'], after['left']))


def squeezed(counted_before, counted_after, min_free):
    """The destinations this change leaves fewer than ``min_free`` ports, and lowers: [(before row, after row)]."""
    pairs = [(b, a) for b, a in zip(counted_before, counted_after) if a['left'] < min_free and a['left'] < b['left']]
    return sorted(pairs, key=lambda pair: _order(pair[1]))


def _squeezed_entry(before, after):
    entry = dict((key, before[key]) for key in ('protocol', 'remote_address', 'remote_port', 'local_address',
                                                'in_use', 'states'))
    entry.update({'left_before': before['left'], 'left_after': after['left']})
    return entry


def guard(connections, before, after, min_free, on_pressure, warnings, limit=DEFAULT_LIMIT):
    """``pressure`` of local_ports (before and after the change; ``before``/``after`` are (range, reserved)).

    Raises TaskError (on_pressure=fail) when the change leaves a destination
    fewer than ``min_free`` free ports and lowers them; warns with the same
    text otherwise.  A destination already under the threshold that this change
    does not lower is not a problem: a rerun stays quiet.
    """
    eph_before, held_before, counted_before = rows(connections, *before)
    eph_after, held_after, counted_after = rows(connections, *after)
    pairs = squeezed(counted_before, counted_after, min_free)
    result = {
        'before': _shape(eph_before, held_before, counted_before, limit),
        'after': _shape(eph_after, held_after, counted_after, limit),
        'min_free': min_free,
        'squeezed': [_squeezed_entry(b, a) for b, a in pairs],
    }
    if not pairs:
        return result
    listed = [_problem(b, a) for b, a in pairs[:MAX_LISTED_PROBLEMS]]
    if len(pairs) > MAX_LISTED_PROBLEMS:
        listed.append('and %d more (see pressure.squeezed)' % (len(pairs) - MAX_LISTED_PROBLEMS))
    what = ('this change would leave %d destination(s) fewer than min_free_per_destination=%d free ephemeral ports '
            '(effective range %d -> %d ports)' % (len(pairs), min_free, eph_before.size, eph_after.size))
    if on_pressure == 'fail':
        raise TaskError('%s, nothing was changed: %s. Reserve fewer ports inside the range, widen or move the '
                        'range, lower min_free_per_destination, or set on_pressure: warn to apply anyway'
                        % (what, '; '.join(listed)), pressure=result)
    warnings.append('%s: %s' % (what, '; '.join(listed)))
    return result


def for_apply(check, before, after, warnings, tables=None, net_directory=None):
    """local_ports' check: ``pressure`` (before/after), or None when not needed.

    ``check``: (examine given?, min_free_per_destination, on_pressure).  Computed
    when the change takes ports out of the effective range, or when ``examine``
    is given; from ``tables`` (the raw tables examine read) or one read of its
    own.  ``before``/``after``: (range, reserved) now and after.
    """
    examined, min_free, on_pressure = check
    if not examined and not takes_ports(before[0], before[1], after[0], after[1]):
        return None
    try:
        connections = scan(tables if tables is not None else read_tables(net_directory))
    except (ValueError, IOError, OSError) as exc:
        raise TaskError('reading the socket tables for the per-destination check failed: %s; nothing was '
                        'changed' % exc)
    return guard(connections, before, after, min_free, on_pressure, warnings)


def for_info(sockets, live, limit):
    """local_ports_info's hook: ``pressure`` from the tables read_sockets read (its SocketTable's ``raw``)."""
    try:
        connections = scan(sockets.raw if sockets.raw is not None else read_tables(sockets.directory))
    except ValueError as exc:
        raise TaskError('cannot read the socket tables: %s' % exc)
    return report(connections, live.port_range, live.reserved, limit)
