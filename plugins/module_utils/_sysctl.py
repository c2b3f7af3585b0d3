# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live access to the two sysctls, in the current or a given network namespace.

Private to the collection; standard library only.  Reads are one large
``os.read`` (the kernel answers a read only once); writes go through one file
descriptor until every byte is taken, because the kernel takes at most 4095
bytes per ``write()`` and later writes on the same descriptor are ORed into the
set.  ``apply`` verifies by reading back and comparing sets, and restores both
keys on any failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import ctypes.util
import errno
import os
import socket
import struct

from ansible_collections.portguard.ephemeral.plugins.module_utils._ports import (
    format_ports,
    format_range,
    parse_kernel_readback,
    parse_range_readback,
)

RESERVED_KEY = 'net.ipv4.ip_local_reserved_ports'
RANGE_KEY = 'net.ipv4.ip_local_port_range'
UNPRIVILEGED_KEY = 'net.ipv4.ip_unprivileged_port_start'
KEYS = (RANGE_KEY, RESERVED_KEY)

PROC_SYS = '/proc/sys'
READ_SIZE = 1 << 20
CLONE_NEWNET = 0x40000000


class SysctlError(Exception):
    """A live read or write that failed; the message says what to do."""


def proc_path(key, proc_sys=PROC_SYS):
    return os.path.join(proc_sys, key.replace('.', '/'))


def read_key(key, proc_sys=PROC_SYS):
    path = proc_path(key, proc_sys)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise SysctlError('cannot read %s (%s): %s' % (key, path, exc.strerror))
    try:
        return os.read(fd, READ_SIZE).decode('ascii')
    finally:
        os.close(fd)


def write_key(key, value, proc_sys=PROC_SYS):
    """Write ``value`` whole through one descriptor; raise SysctlError with advice."""
    path = proc_path(key, proc_sys)
    data = value.encode('ascii')
    if not data.endswith(b'\n'):
        data += b'\n'
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        raise SysctlError(_write_advice(key, path, exc))
    try:
        view = memoryview(data)
        while len(view):
            try:
                written = os.write(fd, view)
            except OSError as exc:
                raise SysctlError(_write_advice(key, path, exc))
            if written <= 0:
                raise SysctlError('the kernel took no bytes of %s after %d of %d; value not applied'
                                  % (key, len(data) - len(view), len(data)))
            view = view[written:]
    finally:
        os.close(fd)


def _write_advice(key, path, exc):
    code = exc.errno
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ('the kernel refused to write %s (%s: %s). /proc/sys is read-only or you lack '
                'CAP_NET_ADMIN: run the task as root (become: true); inside a container, '
                'run it privileged or set the value from the host with the netns option; '
                'or use live: false to only persist the setting'
                % (key, path, exc.strerror))
    if code == errno.ENOENT:
        return ('%s does not exist (%s): this kernel or namespace has no such sysctl'
                % (key, path))
    if code == errno.EINVAL:
        return ('the kernel rejected the value for %s with EINVAL (%s); nothing was changed'
                % (key, path))
    return 'writing %s (%s) failed: %s' % (key, path, exc.strerror)


class LiveState(object):
    """The two keys as the kernel holds them, parsed."""

    __slots__ = ('port_range', 'reserved', 'unprivileged_port_start', 'raw_reserved')

    def __init__(self, port_range, reserved, unprivileged_port_start=1024, raw_reserved=None):
        self.port_range = tuple(port_range)
        self.reserved = frozenset(reserved)
        self.unprivileged_port_start = unprivileged_port_start
        self.raw_reserved = raw_reserved

    def __eq__(self, other):
        return (isinstance(other, LiveState) and self.port_range == other.port_range
                and self.reserved == other.reserved)

    def __ne__(self, other):
        return not self.__eq__(other)


def read_live(proc_sys=PROC_SYS):
    """Read both keys (and the unprivileged port start) once each."""
    raw_range = read_key(RANGE_KEY, proc_sys)
    raw_reserved = read_key(RESERVED_KEY, proc_sys)
    try:
        start = int(read_key(UNPRIVILEGED_KEY, proc_sys).strip())
    except (SysctlError, ValueError):
        start = 1024
    return LiveState(parse_range_readback(raw_range), parse_kernel_readback(raw_reserved),
                     start, raw_reserved)


def apply(before, after, proc_sys=PROC_SYS):
    """Make the live values equal ``after``; all or nothing.

    Writes only the keys that differ, in an order that never trips the kernel's
    rules, reads both back once and compares as sets.  On any failure both keys
    are restored to ``before`` and SysctlError is raised.
    """
    try:
        if after.port_range != before.port_range:
            write_key(RANGE_KEY, format_range(after.port_range, ' '), proc_sys)
        if after.reserved != before.reserved:
            write_key(RESERVED_KEY, format_ports(after.reserved), proc_sys)
        check = read_live(proc_sys)
        if check != after:
            problems = []
            if check.port_range != after.port_range:
                problems.append('%s reads %s, expected %s' % (
                    RANGE_KEY, format_range(check.port_range, ' '), format_range(after.port_range, ' ')))
            if check.reserved != after.reserved:
                problems.append('%s has %d ports missing and %d unexpected after the write' % (
                    RESERVED_KEY, len(after.reserved - check.reserved), len(check.reserved - after.reserved)))
            raise SysctlError('read-back verification failed: %s' % '; '.join(problems))
    except SysctlError as exc:
        # Say what really happened: a refused first write (read-only /proc/sys)
        # changed nothing, and then there is nothing to restore.
        try:
            now = read_live(proc_sys)
        except SysctlError:
            now = None
        if now is not None and now == before:
            raise SysctlError('%s. Nothing was changed: the live values are as they were' % exc)
        restore_errors = _restore(before, proc_sys)
        message = '%s. Both keys were restored to their previous values' % exc
        if restore_errors:
            message = '%s. RESTORE FAILED, check the host by hand: %s' % (exc, '; '.join(restore_errors))
        raise SysctlError(message)


def _restore(before, proc_sys):
    errors = []
    for key, value in ((RANGE_KEY, format_range(before.port_range, ' ')),
                       (RESERVED_KEY, format_ports(before.reserved))):
        try:
            write_key(key, value, proc_sys)
        except SysctlError as exc:
            errors.append(str(exc))
    return errors


SO_NETNS_COOKIE = 71


def netns_identity(path='/proc/self/ns/net'):
    """Identity of the current network namespace: nsfs inode and device, and cookie.

    Inode numbers are reused once a namespace is gone; the kernel's namespace
    cookie (SO_NETNS_COOKIE, Linux 5.14+) never is, so state kept per namespace
    is keyed by it.  ``cookie`` is None where the kernel lacks it.
    """
    st = os.stat(path)
    return {'inode': st.st_ino, 'dev': st.st_dev, 'link': _readlink(path), 'cookie': netns_cookie()}


def netns_cookie():
    """The current network namespace's cookie, or None."""
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    except OSError:
        return None
    try:
        return struct.unpack('=Q', sock.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
    except (OSError, struct.error):
        return None
    finally:
        sock.close()


def _readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def enter_netns(path):
    """Move this process into the network namespace at ``path`` (live only).

    Fails closed: after setns the process's namespace must be the one at
    ``path``, or SysctlError is raised before anything is written.
    """
    try:
        target = os.stat(path)
    except OSError as exc:
        raise SysctlError('netns %s: %s; give /run/netns/NAME or /proc/PID/ns/net' % (path, exc.strerror))
    current = os.stat('/proc/self/ns/net')
    if (target.st_ino, target.st_dev) == (current.st_ino, current.st_dev):
        return
    libc_name = ctypes.util.find_library('c') or 'libc.so.6'
    libc = ctypes.CDLL(libc_name, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            raise SysctlError('cannot enter network namespace %s: %s (needs root / CAP_SYS_ADMIN, and '
                              'the path must be a network namespace)' % (path, os.strerror(code)))
    finally:
        os.close(fd)
    now = os.stat('/proc/self/ns/net')
    if (now.st_ino, now.st_dev) != (target.st_ino, target.st_dev):
        raise SysctlError('entered %s but /proc/self/ns/net is still another namespace; refusing to write'
                          % path)
