# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sockets of one network namespace, read from /proc/net/{tcp,tcp6,udp,udp6}.

Private to the collection; standard library only.

The files list every socket of the namespace that the *reading thread* is in:
``/proc/net`` is a link to ``/proc/self/net``, and ``/proc/thread-self/net``
follows the calling thread's namespace after ``setns()``.  ``net_dir`` prefers
the latter (a single-threaded module gets the same answer from both).

Each line is ``sl: LOCAL:PORT REMOTE:PORT ST ... uid timeout inode ...`` with
addresses printed as the kernel's 32-bit words in host byte order (IPv4: one
word, so ``0100007F`` is 127.0.0.1 on a little-endian CPU; IPv6: four words),
ports as four hex digits and the state as two.  Only the lines whose local
port is wanted are split; the rest are only counted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import struct

PROTOCOLS = ('tcp', 'tcp6', 'udp', 'udp6')

# include/net/tcp_states.h
TCP_STATES = {
    '01': 'ESTABLISHED',
    '02': 'SYN_SENT',
    '03': 'SYN_RECV',
    '04': 'FIN_WAIT1',
    '05': 'FIN_WAIT2',
    '06': 'TIME_WAIT',
    '07': 'CLOSE',
    '08': 'CLOSE_WAIT',
    '09': 'LAST_ACK',
    '0A': 'LISTEN',
    '0B': 'CLOSING',
    '0C': 'NEW_SYN_RECV',
}
TCP_LISTEN = '0A'
# A UDP socket that is bound but not connected shows state 07 (CLOSE, "UNCONN"
# in ss); a connected one shows 01 (ESTABLISHED).
UDP_UNCONNECTED = '07'

# Hex digits of the address field, per family.
_ADDR_LEN = {'tcp': 8, 'udp': 8, 'tcp6': 32, 'udp6': 32}


def net_dir():
    """The /proc directory with the current thread's network namespace tables."""
    for candidate in ('/proc/thread-self/net', '/proc/self/net'):
        if os.path.isdir(candidate):
            return candidate
    return '/proc/net'


def decode_address(hex_addr):
    """``0100007F`` -> ``127.0.0.1``; 32 hex digits -> an IPv6 address (host byte order words)."""
    if len(hex_addr) == 8:
        return socket.inet_ntop(socket.AF_INET, struct.pack('=I', int(hex_addr, 16)))
    if len(hex_addr) == 32:
        words = [int(hex_addr[i:i + 8], 16) for i in range(0, 32, 8)]
        return socket.inet_ntop(socket.AF_INET6, struct.pack('=4I', *words))
    raise ValueError('not a /proc/net address: %r' % (hex_addr,))


def endpoint(address, port):
    """``127.0.0.1:80`` or ``[::1]:80``."""
    if ':' in address:
        return '[%s]:%d' % (address, port)
    return '%s:%d' % (address, port)


def state_name(protocol, code):
    name = TCP_STATES.get(code.upper(), 'UNKNOWN_%s' % code)
    if protocol.startswith('udp') and code.upper() == UDP_UNCONNECTED:
        return 'UNCONN'
    return name


def listen_code(protocol):
    """The state code of a listener: TCP in LISTEN, or UDP bound and not connected (the one "is it listening" test)."""
    return TCP_LISTEN if protocol.startswith('tcp') else UDP_UNCONNECTED


class Socket(object):
    """One line of a /proc/net table, decoded."""

    __slots__ = ('protocol', 'local_address', 'local_port', 'remote_address', 'remote_port',
                 'state_code', 'uid', 'inode')

    def __init__(self, protocol, local_address, local_port, remote_address, remote_port, state_code,
                 uid, inode):
        self.protocol = protocol
        self.local_address = local_address
        self.local_port = local_port
        self.remote_address = remote_address
        self.remote_port = remote_port
        self.state_code = state_code
        self.uid = uid
        self.inode = inode

    @property
    def state(self):
        return state_name(self.protocol, self.state_code)

    def as_dict(self):
        return {
            'protocol': self.protocol,
            'state': self.state,
            'address': self.local_address,
            'local': endpoint(self.local_address, self.local_port),
            'remote': endpoint(self.remote_address, self.remote_port),
            'uid': self.uid,
            'inode': self.inode,
        }

    def __repr__(self):
        return 'Socket(%s %s %s -> %s)' % (self.protocol, self.state,
                                           endpoint(self.local_address, self.local_port),
                                           endpoint(self.remote_address, self.remote_port))


def parse_line(protocol, line):
    """Decode one data line (str or bytes) of /proc/net/<protocol>; raise ValueError on a malformed line."""
    if isinstance(line, bytes):
        line = line.decode('ascii', 'replace')
    fields = line.split(None, 10)
    if len(fields) < 10:
        raise ValueError('short /proc/net/%s line: %r' % (protocol, line))
    local_hex, _sep, local_port = fields[1].partition(':')
    remote_hex, _sep, remote_port = fields[2].partition(':')
    return Socket(protocol, decode_address(local_hex), int(local_port, 16),
                  decode_address(remote_hex), int(remote_port, 16), fields[3].upper(),
                  int(fields[7]), int(fields[9]))


def _offsets(protocol):
    """Where the local port and the state start, counted from the first colon of a line.

    ``"%4d: %08X:%04X %08X:%04X %02X ..."`` (IPv6: 32 hex digits per address).
    """
    addr = _ADDR_LEN[protocol]
    port_at = addr + 3
    state_at = port_at + 4 + 1 + addr + 1 + 4 + 1
    return port_at, state_at


def _body(data):
    """The data lines of a table (bytes): without the header and the empty piece after the last newline."""
    lines = data.split(b'\n')
    body = lines[1:]
    if body and body[-1] == b'':
        body.pop()
    return body


def _listener_marker(protocol):
    """Text that only a listener's line holds: a zero remote end followed by the listening state."""
    return (' %s:0000 %s ' % ('0' * _ADDR_LEN[protocol], listen_code(protocol))).encode('ascii')


def listening_ports_in(protocol, data):
    """Local ports of the listeners (TCP LISTEN, unconnected UDP) in a table's raw text.

    Searches for the marker (C speed) instead of walking the lines: the local
    port is the four hex digits right before it.
    """
    marker = _listener_marker(protocol)
    found = set()
    position = data.find(marker)
    while position >= 0:
        if data[position - 5:position - 4] == b':':
            found.add(int(data[position - 4:position], 16))
        position = data.find(marker, position + len(marker))
    return found


def scan_table(protocol, lines, ports=None):
    """Group the data lines (bytes) of one table by local port, without decoding them.

    Returns {port: [(state_code, line), ...]}.  With ``ports`` (a set of ints)
    only lines whose local port is in it are kept: the port is cut out of the
    line at a fixed offset after the first colon and compared as hex text,
    which is what keeps a table of 50,000 sockets cheap to read.
    """
    groups = {}
    if ports is not None and not ports:
        return groups
    wanted = None if ports is None else frozenset(('%04X' % port).encode('ascii') for port in ports)
    port_at, state_at = _offsets(protocol)
    for line in lines:
        colon = line.find(b':')
        if colon < 0:
            continue
        port_hex = line[colon + port_at:colon + port_at + 4]
        if wanted is not None and port_hex not in wanted:
            continue
        group = groups.get(port_hex)
        if group is None:
            groups[port_hex] = group = []
        group.append((line[colon + state_at:colon + state_at + 2].decode('ascii'), line))
    result = {}
    for port_hex, group in groups.items():
        try:
            result[int(port_hex, 16)] = group
        except ValueError:
            raise ValueError('malformed /proc/net/%s line: %r' % (protocol, group[0][1]))
    return result


def read_table(protocol, directory=None):
    """The raw bytes of <net_dir>/<protocol>; b'' when the table does not exist (IPv6 disabled)."""
    path = os.path.join(directory or net_dir(), protocol)
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return b''


class PortSockets(object):
    """Every socket on one local port: listeners, and the rest (holders).

    Lines are kept raw per protocol and decoded only when listed.
    """

    def __init__(self, port):
        self.port = port
        self.groups = []        # [(protocol, [(state_code, line), ...])]

    def add_group(self, protocol, group):
        self.groups.append((protocol, group))

    def _split(self, want_listeners):
        for protocol, group in self.groups:
            code = listen_code(protocol)
            for state, line in group:
                if (state == code) == want_listeners:
                    yield protocol, state, line

    @property
    def listener_count(self):
        return sum(1 for _item in self._split(True))

    def listeners(self, limit=None):
        return self._decode(self._split(True), limit)

    def holders(self, limit=None):
        return self._decode(self._split(False), limit)

    @staticmethod
    def _decode(items, limit):
        out = []
        for protocol, _state, line in items:
            if limit is not None and len(out) >= limit:
                break
            out.append(parse_line(protocol, line))
        return out

    def holder_states(self):
        """{"tcp TIME_WAIT": n, ...}"""
        counts = {}
        for protocol, group in self.groups:
            listen = listen_code(protocol)
            codes = {}
            for state, _line in group:
                codes[state] = codes.get(state, 0) + 1
            for state, number in codes.items():
                if state != listen:
                    key = '%s %s' % (protocol, state_name(protocol, state))
                    counts[key] = counts.get(key, 0) + number
        return counts


_EMPTY = PortSockets(None)


class SocketTable(object):
    """What read_sockets found: counts per table, the listening ports, the sockets on the wanted ports."""

    # The raw tables read ({protocol: bytes}), kept by read_sockets so that
    # _pressure.scan counts the destinations without a second read (issue 24).
    raw = None

    def __init__(self, counts, ports, listening, directory):
        self.counts = counts
        self.ports = ports
        self.listening = listening
        self.directory = directory

    @property
    def total(self):
        return sum(self.counts.values())

    def get(self, port):
        return self.ports.get(port, _EMPTY)

    def listening_ports(self):
        return self.listening


def read_sockets(ports=None, directory=None, protocols=PROTOCOLS, listening_filter=None):
    """Read the tables once each and group the sockets on ``ports``.

    ``ports=None`` means the ports that have a listener: a first pass finds
    them (a search for the text only a listener line holds), a second keeps
    their sockets.  With ``listening_filter`` (a callable taking a port), the
    listening ports it accepts are kept too, in the same second pass, and
    ``listening_ports()`` lists every listening port (the first pass runs).
    """
    directory = directory or net_dir()
    raw = dict((protocol, read_table(protocol, directory)) for protocol in protocols)
    bodies = dict((protocol, _body(data)) for protocol, data in raw.items())
    counts = dict((protocol, len(lines)) for protocol, lines in bodies.items())
    listening = None
    if ports is None or listening_filter is not None:
        listening = set()
        for protocol, data in raw.items():
            listening.update(listening_ports_in(protocol, data))
    if ports is None:
        wanted = set(listening)
    else:
        wanted = set(ports)
    if listening_filter is not None:
        wanted.update(port for port in listening if listening_filter(port))
    wanted = frozenset(wanted)
    grouped = {}
    for protocol in protocols:
        for port, group in scan_table(protocol, bodies[protocol], wanted).items():
            item = grouped.get(port)
            if item is None:
                grouped[port] = item = PortSockets(port)
            item.add_group(protocol, group)
    if listening is None:
        listening = set(port for port, item in grouped.items() if item.listener_count)
    table = SocketTable(counts, grouped, frozenset(listening), directory)
    table.raw = raw
    return table
