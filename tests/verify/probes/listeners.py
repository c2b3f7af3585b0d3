# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only: every listener of the host's network namespace inside the ephemeral range, printed as JSON.

Runs ON THE TARGET with the standard library only (python3 >= 3.5), shipped by
tests/verify like state.py.  Deliberately its own code, not the collection's
(module_utils/_sockets.py): the check must not share a bug with the modules.

    python3 listeners.py

Output: {"range": [LOW, HIGH], "reserved": "<kernel text>", "netns": "net:[N]",
         "listeners": [{"port", "protocol", "local", "inode", "processes": [{"pid", "comm"}]}]}
with one entry per listening socket (TCP LISTEN, bound unconnected UDP) whose
port is inside the range, reserved or not (the check decides).  Processes are
found through the socket:[INODE] links under /proc/PID/fd of the processes in
this namespace; unreadable or vanished processes are skipped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import struct

RANGE = '/proc/sys/net/ipv4/ip_local_port_range'
RESERVED = '/proc/sys/net/ipv4/ip_local_reserved_ports'
LISTEN_STATE = {'tcp': '0A', 'tcp6': '0A', 'udp': '07', 'udp6': '07'}


def read_proc(path):
    """One read() with a 1 MiB buffer (the kernel answers only the first read of these files)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1 << 20).decode('ascii')
    finally:
        os.close(fd)


def address_text(hex_text):
    """The kernel prints each 32-bit word of the address in host byte order."""
    words = [int(hex_text[i:i + 8], 16) for i in range(0, len(hex_text), 8)]
    if len(words) == 1:
        return socket.inet_ntop(socket.AF_INET, struct.pack('=I', words[0]))
    return '[%s]' % socket.inet_ntop(socket.AF_INET6, struct.pack('=4I', *words))


def listeners(low, high):
    found = []
    for protocol in ('tcp', 'tcp6', 'udp', 'udp6'):
        try:
            with open('/proc/self/net/' + protocol) as handle:
                lines = handle.read().splitlines()[1:]
        except (IOError, OSError):
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3].upper() != LISTEN_STATE[protocol]:
                continue
            address, port = fields[1].rsplit(':', 1)
            port = int(port, 16)
            if low <= port <= high:
                found.append({'port': port, 'protocol': protocol, 'local': '%s:%d' % (address_text(address), port),
                              'inode': int(fields[9]), 'processes': []})
    return found


def name_processes(found, netns):
    by_inode = dict((item['inode'], item) for item in found if item['inode'])
    if not by_inode:
        return
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            if os.readlink('/proc/%s/ns/net' % name) != netns:
                continue
            fds = os.listdir('/proc/%s/fd' % name)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink('/proc/%s/fd/%s' % (name, fd))
            except OSError:
                continue
            if target.startswith('socket:[') and target.endswith(']'):
                item = by_inode.get(int(target[8:-1]))
                if item is not None:
                    try:
                        with open('/proc/%s/comm' % name) as handle:
                            comm = handle.read().strip()
                    except (IOError, OSError):
                        comm = None
                    entry = {'pid': int(name), 'comm': comm}
                    if entry not in item['processes']:
                        item['processes'].append(entry)


def main():
    low, high = (int(x) for x in read_proc(RANGE).split())
    netns = os.readlink('/proc/self/ns/net')
    found = listeners(low, high)
    name_processes(found, netns)
    found.sort(key=lambda item: (item['port'], item['protocol'], item['local']))
    print(json.dumps({'range': [low, high], 'reserved': read_proc(RESERVED), 'netns': netns, 'listeners': found},
                     sort_keys=True))


if __name__ == '__main__':
    main()
