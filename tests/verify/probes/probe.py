# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Behavioural probe: does the kernel of this network namespace ever hand out a reserved port?

Runs ON THE TARGET with the standard library only (python3 >= 3.5), shipped by
tests/verify through ``host.run``.  One JSON argument, one JSON result:

    python3 probe.py '{"services": [{"port": 8080, "tcp": true, "udp": false}],
                       "mode": "sockopt", "half_window": 32,
                       "forbid_netns": [{"inode": 4026531840, "dev": 4}]}'

For every service port inside the live ephemeral range it takes a window of
ports around it (an even number of ports, so both parities are reachable) and
exhausts that window, holding every port it is given, with

  tcp4_bind     bind(0) on 127.0.0.1 until EADDRINUSE
  tcp6_bind     bind(0) on ::1 until EADDRINUSE (when the namespace has IPv6)
  udp4_connect  UDP connect() autobind until EAGAIN
  tcp4_connect  TCP connect() to a local listener until EADDRNOTAVAIL

and, while the TCP connections still hold the whole window, binds the
service ports of that window explicitly (the service starting under
pressure).  For a service port outside the range (move_range) it exhausts a
window at the nearest edge of the range, asking for ports across the edge.
In range mode the windows also cover reserved service ports outside the live
range (the reservation alone must keep them out).
Service ports in no window are bound at the end.

Two ways to confine the kernel's choice to a window:

  sockopt  (default) the per-socket IP_LOCAL_PORT_RANGE option (Linux 6.3+).
           The kernel clamps it to the namespace's range and still skips
           reserved ports.  No sysctl is written: safe on a live host.
  range    narrows net.ipv4.ip_local_port_range of this namespace to the
           window and restores it afterwards.  Refused unless forbid_netns
           lists the machine's namespace(s) and this process is in none of
           them (checked before every write); meant for test containers only.

The controller judges the result (tests/verify/test_reserved_ports.py): no
port handed out is reserved or outside the range, every free port of a
window was handed out (the window really was exhausted), and every service
port could be bound.  Every socket is closed with SO_LINGER 0 (no TIME_WAIT
left behind).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import resource
import socket
import struct
import sys

RANGE = '/proc/sys/net/ipv4/ip_local_port_range'
RESERVED = '/proc/sys/net/ipv4/ip_local_reserved_ports'
IP_LOCAL_PORT_RANGE = 51  # include/uapi/linux/in.h, Linux 6.3+
LINGER_RESET = struct.pack('ii', 1, 0)


class ProbeError(Exception):
    pass


def read_proc(path):
    """One read() with a 1 MiB buffer: these files answer only the first read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1 << 20).decode('ascii')
    finally:
        os.close(fd)


def parse_kernel_ports(text):
    ports = set()
    for piece in text.strip().split(','):
        if not piece:
            continue
        low, _sep, high = piece.partition('-')
        ports.update(range(int(low), int(high or low) + 1))
    return ports


def unprivileged_start():
    try:
        return int(read_proc('/proc/sys/net/ipv4/ip_unprivileged_port_start').strip())
    except (IOError, OSError, ValueError):
        return 1024


def netns_identity():
    st = os.stat('/proc/self/ns/net')
    return {'inode': st.st_ino, 'dev': st.st_dev}


def socket_table():
    """{port: [(protocol, state), ...]} for every socket of this namespace."""
    table = {}
    for proto in ('tcp', 'tcp6', 'udp', 'udp6'):
        try:
            with open('/proc/self/net/' + proto) as handle:
                lines = handle.read().splitlines()[1:]
        except (IOError, OSError):
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4:
                continue
            port = int(fields[1].rsplit(':', 1)[1], 16)
            state = int(fields[3], 16)
            if proto.startswith('tcp'):
                name = {10: 'LISTEN', 1: 'ESTABLISHED', 6: 'TIME_WAIT', 5: 'FIN_WAIT2'}.get(state, 'state%d' % state)
            else:
                name = 'UNCONN' if state == 7 else 'ESTAB'
            table.setdefault(port, []).append((proto, name))
    return table


def busy_ports(table, protos):
    return sorted(port for port, socks in table.items() if any(proto in protos for proto, _state in socks))


class RangeGuard(object):
    """Narrow this namespace's ephemeral range, always restoring it; never in a forbidden namespace."""

    def __init__(self, forbid):
        if not forbid:
            raise ProbeError('mode range needs forbid_netns (the machine namespace(s) it must never write)')
        self.forbid = [(int(item['inode']), int(item['dev'])) for item in forbid]
        self.original = read_proc(RANGE)
        self.changed = False

    def check(self):
        me = netns_identity()
        if (me['inode'], me['dev']) in self.forbid:
            raise ProbeError('refusing to write %s: this process is in a forbidden network namespace %r'
                             % (RANGE, me))

    def _write(self, text):
        self.check()
        fd = os.open(RANGE, os.O_WRONLY)
        try:
            os.write(fd, text.encode('ascii'))
        finally:
            os.close(fd)

    def set(self, low, high):
        self._write('%d %d\n' % (low, high))
        self.changed = True
        got = read_proc(RANGE).split()
        if [int(got[0]), int(got[1])] != [low, high]:
            raise ProbeError('range write %d %d read back as %r' % (low, high, got))

    def restore(self):
        if not self.changed:
            return True
        self._write(self.original)
        self.changed = False
        return read_proc(RANGE).split() == self.original.split()


def window_option(sock, low, high):
    sock.setsockopt(socket.IPPROTO_IP, IP_LOCAL_PORT_RANGE, struct.pack('I', low | (high << 16)))


def close_all(socks):
    for sock in socks:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        except (OSError, socket.error):
            pass
        sock.close()
    del socks[:]


def exhaust(kind, ask, cap, dest, held):
    """Take ports until the kernel has none left; keep every socket in ``held``. Returns the phase record."""
    family = socket.AF_INET6 if kind == 'tcp6_bind' else socket.AF_INET
    stype = socket.SOCK_DGRAM if kind == 'udp4_connect' else socket.SOCK_STREAM
    expected_errno = {'tcp4_bind': errno.EADDRINUSE, 'tcp6_bind': errno.EADDRINUSE,
                      'udp4_connect': errno.EAGAIN, 'tcp4_connect': errno.EADDRNOTAVAIL}[kind]
    ports = []
    end = None
    while True:
        if len(ports) >= cap:
            end = 'cap'
            break
        sock = socket.socket(family, stype)
        try:
            sock.settimeout(5)
            if ask is not None:
                window_option(sock, ask[0], ask[1])
            if kind == 'tcp4_bind':
                sock.bind(('127.0.0.1', 0))
            elif kind == 'tcp6_bind':
                sock.bind(('::1', 0))
            else:
                sock.connect(dest)
        except (OSError, socket.error) as exc:
            sock.close()
            end = errno.errorcode.get(exc.errno, str(exc.errno))
            if exc.errno != expected_errno:
                end = 'unexpected %s: %s' % (end, exc)
            break
        held.append(sock)
        ports.append(sock.getsockname()[1])
    return {'ports': sorted(ports), 'end': end, 'expected_end': errno.errorcode[expected_errno]}


def bind_service(port, protocol, table):
    stype = socket.SOCK_STREAM if protocol == 'tcp' else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, stype)
    try:
        sock.bind(('0.0.0.0', port))
        if protocol == 'tcp':
            sock.listen(1)
        return {'ok': True}
    except (OSError, socket.error) as exc:
        socks = table.get(port, [])
        return {'ok': False, 'error': errno.errorcode.get(exc.errno, str(exc.errno)),
                'sockets': ['%s %s' % item for item in socks],
                'listener': any(state in ('LISTEN', 'UNCONN') and proto.startswith(protocol) for proto, state in socks)}
    finally:
        sock.close()


def windows_for(services, low, high, half, cap):
    """[[ask_low, ask_high, expect_low, expect_high]]: an even count of ports around each service port.

    A service port already inside an earlier window adds none.  A port outside
    the range gets the window at the nearest edge, asked across the edge.
    """
    size = min(2 * half, cap)
    size -= size % 2
    found = []
    for port in sorted(set(item['port'] for item in services)):
        if low <= port <= high:
            if any(w[2] <= port <= w[3] for w in found):
                continue
            a = max(low, port - size // 2)
            b = min(high, a + size - 1)
            a = max(low, b - size + 1)
            if (b - a + 1) % 2:
                if b > port:
                    b -= 1
                else:
                    a += 1
            found.append([a, b, a, b])
        elif port < low:
            b = min(high, low + size - 1)
            if (b - low + 1) % 2:
                b -= 1
            window = [max(1, low - size), b, low, b]
            if window not in found:
                found.append(window)
        else:
            a = max(low, high - size + 1)
            if (high - a + 1) % 2:
                a += 1
            window = [a, min(65535, high + size), a, high]
            if window not in found:
                found.append(window)
    return found


def main(argv):
    params = json.loads(argv[1])
    services = params.get('services') or []
    mode = params.get('mode', 'sockopt')
    half = int(params.get('half_window', 32))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    cap = max(8, min(1024, soft - 64))
    low, high = [int(x) for x in read_proc(RANGE).split()]
    reserved = parse_kernel_ports(read_proc(RESERVED))
    result = {'mode': mode, 'netns': netns_identity(), 'range': [low, high], 'reserved_count': len(reserved),
              'nofile': soft, 'cap': cap, 'windows': [], 'binds': {}, 'restored': None, 'error': None}
    guard = None
    held = []
    listener = None
    try:
        if mode == 'range':
            guard = RangeGuard(params.get('forbid_netns'))
            guard.check()
        elif mode != 'sockopt':
            raise ProbeError('unknown mode %r' % mode)
        if mode == 'range':
            # The namespace's range itself becomes each window, so a window may lie outside the
            # live range: that tests the reservation alone (a reserved port outside the range
            # takes effect when the range grows over it). A port that is neither inside the live
            # range nor reserved relies on the range only, which this mode cannot test: skipped.
            bounds = (max(1, unprivileged_start()), 65535)
            chosen = [item for item in services
                      if (low <= item['port'] <= high or item['port'] in reserved)
                      and bounds[0] <= item['port'] <= bounds[1]]
            windows = windows_for(chosen, bounds[0], bounds[1], half, cap)
        else:
            bounds = (low, high)
            windows = windows_for(services, low, high, half, cap)
        result['bounds'] = list(bounds)
        in_windows = set()
        for _ask_a, _ask_b, a, b in windows:
            in_windows.update(range(a, b + 1))
        # A listener for the connect phases, on a port in no window (explicit bind).
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        service_ports = set(item['port'] for item in services)
        for port in list(range(high, low - 1, -1)) + list(range(low - 1, 1023, -1)):
            if port in in_windows or port in service_ports:
                continue
            try:
                listener.bind(('127.0.0.1', port))
                break
            except (OSError, socket.error):
                continue
        listener.listen(4096)
        dest = listener.getsockname()
        result['listener'] = dest[1]
        ipv6 = False
        if socket.has_ipv6:
            try:
                probe6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                try:
                    probe6.bind(('::1', dest[1]))
                finally:
                    probe6.close()
                ipv6 = True
            except (OSError, socket.error):
                ipv6 = False
        bound = set()
        for ask_a, ask_b, a, b in windows:
            record = {'expect': [a, b], 'ask': [ask_a, ask_b], 'phases': {}}
            result['windows'].append(record)
            if mode == 'range':
                guard.set(a, b)
                ask = None
            else:
                ask = (ask_a, ask_b)
                probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    window_option(probe, ask_a, ask_b)
                except (OSError, socket.error) as exc:
                    raise ProbeError('IP_LOCAL_PORT_RANGE is not supported here (Linux 6.3+ needed): %s; '
                                     'kernel %s' % (exc, os.uname()[2]))
                finally:
                    probe.close()
            table = socket_table()
            record['busy'] = {'tcp': busy_ports(table, ('tcp', 'tcp6')), 'udp': busy_ports(table, ('udp', 'udp6'))}
            kinds = ['tcp4_bind'] + (['tcp6_bind'] if ipv6 else []) + ['udp4_connect', 'tcp4_connect']
            for kind in kinds:
                record['phases'][kind] = exhaust(kind, ask, cap, dest, held)
                if kind != 'tcp4_connect':
                    close_all(held)
            # The window is exhausted by live TCP connections: can the services still start?
            table = socket_table()
            for item in services:
                if a <= item['port'] <= b:
                    bound.add(item['port'])
                    result['binds'][str(item['port'])] = dict(
                        (proto, bind_service(item['port'], proto, table)) for proto in ('tcp', 'udp') if item.get(proto))
            close_all(held)
            if guard is not None:
                if not guard.restore():
                    raise ProbeError('the range did not read back as %r after restoring' % guard.original)
        table = socket_table()
        for item in services:
            if item['port'] not in bound:
                result['binds'][str(item['port'])] = dict(
                    (proto, bind_service(item['port'], proto, table)) for proto in ('tcp', 'udp') if item.get(proto))
    except ProbeError as exc:
        result['error'] = str(exc)
    finally:
        close_all(held)
        if listener is not None:
            listener.close()
        if guard is not None:
            result['restored'] = guard.restore()
    result['range_after'] = [int(x) for x in read_proc(RANGE).split()]
    sys.stdout.write(json.dumps(result, sort_keys=True) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
