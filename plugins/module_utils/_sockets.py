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
import pwd
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
    return SocketTable(counts, grouped, frozenset(listening), directory)


# ---- processes: which process holds a socket, the way `ss -p` finds it -----
#
# A socket's inode (the last number /proc/net/* prints for it) appears as the
# link target ``socket:[INODE]`` of every descriptor that refers to it, under
# /proc/PID/fd.  Only the inodes asked for are looked up, in one pass over the
# processes of the examined network namespace: /proc/PID/fd is global, but a
# process outside that namespace cannot have created its sockets (/proc/PID/
# ns/net is compared first, which skips the fd directories of every other
# container).  Everything is read through ``proc_root`` so tests can give a
# tree of their own.

PROC_ROOT = '/proc'
# At most this many processes are named per socket (a pre-forking server's
# workers all share its listener); ``process_count`` is always complete.
PROCESS_LIMIT = 10

# Why a socket has no process (``no_process``).
NO_PROCESS_KERNEL = 'kernel_only'
NO_PROCESS_NOT_FOUND = 'not_found'
NO_PROCESS_NOT_LOOKED_UP = 'not_looked_up'

# Command names (/proc/PID/comm, at most 15 characters) of programs that
# listen on a port the kernel picks (bind to port 0) by design: the port moves
# on every restart, so reserving it is pointless; recognise them instead.
PORT_ZERO_COMMANDS = frozenset((
    'rpc.statd',     # NFS lock recovery (NSM), random TCP and UDP ports unless -p / -o is given
    'rpc.mountd',    # NFS mountd without a fixed --port
    'rpcbind',       # an extra UDP port for remote calls
    'ypbind',        # NIS
    'java',          # Java RMI / JMX exports
    'dhclient',      # ISC DHCP client's fallback UDP socket
    'avahi-daemon',  # mDNS: one UDP port besides 5353
))

_SOCKET_PREFIX = 'socket:['


def _readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def _read_small(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read(4096).decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


_DIR_FD = os.readlink in getattr(os, 'supports_dir_fd', ()) and hasattr(os, 'O_DIRECTORY')


def _fd_targets(fd_dir):
    """The link targets of the descriptors in ``fd_dir``; OSError when the directory cannot be read.

    A descriptor closed between the listing and its readlink is left out.
    Relative to an open directory where the platform allows (no path walk
    per descriptor).
    """
    targets = []
    if _DIR_FD:
        dir_fd = os.open(fd_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for fd in os.listdir(dir_fd):
                try:
                    targets.append(os.readlink(fd, dir_fd=dir_fd))
                except OSError:
                    pass
        finally:
            os.close(dir_fd)
        return targets
    prefix = fd_dir + '/'
    for fd in os.listdir(fd_dir):
        target = _readlink(prefix + fd)
        if target is not None:
            targets.append(target)
    return targets


class Owners(object):
    """What find_owners found: {inode: [pid, ...]} and {pid: process dict}, with counters."""

    def __init__(self):
        self.pids_by_inode = {}
        self.processes = {}
        self.scanned = 0          # processes whose descriptors were read
        self.skipped = 0          # processes that vanished or could not be read
        self.other_netns = 0      # processes of another namespace (not read)
        self.looked_up = False

    def of(self, inode):
        """Process dicts (ascending pid, at most PROCESS_LIMIT) and the total number, for one inode."""
        pids = sorted(self.pids_by_inode.get(inode, ()))
        return [self.processes[pid] for pid in pids[:PROCESS_LIMIT]], len(pids)

    def describe(self, sock_dict, inode):
        """Add ``process``, ``processes``, ``process_count`` and ``no_process`` to a socket's dict."""
        processes, count = self.of(inode) if inode else ([], 0)
        if processes:
            reason = None
        elif not inode:
            reason = NO_PROCESS_KERNEL
        elif not self.looked_up:
            reason = NO_PROCESS_NOT_LOOKED_UP
        else:
            reason = NO_PROCESS_NOT_FOUND
        sock_dict['process'] = processes[0] if processes else None
        sock_dict['processes'] = processes
        sock_dict['process_count'] = count
        sock_dict['no_process'] = reason
        return sock_dict

    def summary(self):
        return {'looked_up': self.looked_up, 'scanned': self.scanned, 'skipped': self.skipped,
                'other_netns': self.other_netns}


def _uid_of(status_text):
    """The effective uid from /proc/PID/status (``Uid: real effective saved fs``), or None."""
    for text_line in (status_text or '').splitlines():
        if text_line.startswith('Uid:'):
            fields = text_line.split()
            try:
                return int(fields[2] if len(fields) > 2 else fields[1])
            except (IndexError, ValueError):
                return None
    return None


def _user_name(uid, cache):
    if uid is None:
        return None
    if uid not in cache:
        try:
            cache[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            cache[uid] = None
    return cache[uid]


def find_owners(inodes, netns_link=None, proc_root=PROC_ROOT):
    """The processes holding the sockets ``inodes``: one pass over <proc_root>/*/fd.

    ``netns_link`` is the examined namespace's ``net:[N]`` link text; processes
    whose ``ns/net`` link differs (or cannot be read) are not read at all.  None
    reads every process.  Inode 0 (TIME_WAIT, request sockets, connections
    their process already closed) is never looked up.  A process that exits
    mid-scan, or whose descriptors this user may not read, is skipped.
    Nothing is read when no inode is asked for.
    """
    owners = Owners()
    wanted = frozenset(inode for inode in inodes if inode)
    if not wanted:
        return owners
    owners.looked_up = True
    try:
        entries = os.listdir(proc_root)
    except OSError:
        return owners
    for name in entries:
        if name.isdigit():
            _scan_process(owners, wanted, name, netns_link, proc_root)
    _name_processes(owners, proc_root)
    return owners


def _scan_process(owners, wanted, name, netns_link, proc_root):
    """Record which of the ``wanted`` inodes process ``name`` holds (unless it is in another namespace)."""
    base = os.path.join(proc_root, name)
    if netns_link is not None:
        link = _readlink(base + '/ns/net')
        if link is None:
            owners.skipped += 1
            return
        if link != netns_link:
            owners.other_netns += 1
            return
    try:
        targets = _fd_targets(base + '/fd')
    except OSError:
        owners.skipped += 1
        return
    owners.scanned += 1
    pid = int(name)
    found = owners.pids_by_inode
    for target in targets:
        if not target.startswith(_SOCKET_PREFIX):
            continue
        try:
            inode = int(target[len(_SOCKET_PREFIX):-1])
        except ValueError:
            continue
        if inode in wanted:
            pids = found.get(inode)
            if pids is None:
                found[inode] = pids = set()
            pids.add(pid)


def _name_processes(owners, proc_root):
    """Fill ``owners.processes`` for every pid found holding a socket; drop the ones that exited since."""
    found = owners.pids_by_inode
    users = {}
    holding = set()
    for pids in found.values():
        holding.update(pids)
    for pid in sorted(holding):
        base = os.path.join(proc_root, str(pid))
        comm = _read_small(base + '/comm')
        status = _read_small(base + '/status')
        if comm is None and status is None:
            # Exited since its descriptors were read: it holds nothing now.
            for pids in found.values():
                pids.discard(pid)
            owners.skipped += 1
            continue
        uid = _uid_of(status)
        owners.processes[pid] = {
            'pid': pid,
            'comm': comm.rstrip('\n') if comm is not None else None,
            'uid': uid,
            'user': _user_name(uid, users),
        }


def binds_port_zero_likely(processes):
    """True when a process holding the socket is one of PORT_ZERO_COMMANDS."""
    return any(proc.get('comm') in PORT_ZERO_COMMANDS for proc in processes or ())
