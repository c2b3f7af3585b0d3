# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which processes hold a socket, found the way ``ss -p`` finds them.

Private to the collection; standard library only.

A socket's inode (the last number /proc/net/* prints for it) appears as the
link target ``socket:[INODE]`` of every descriptor that refers to it, under
/proc/PID/fd.  Only the inodes asked for are looked up, in one pass over the
processes of the examined network namespace: /proc/PID/fd is global, but a
process outside that namespace cannot have created its sockets (/proc/PID/
ns/net is compared first, which skips the fd directories of every other
container).  Everything is read through ``proc_root`` so tests can give a
tree of their own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd

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
