# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The running kernel's two keys: their names, live values, what the kernel accepts, and its defaults.

Private to the collection; standard library only.  Reads are one large
``os.read`` (the kernel answers a read only once).  A write at file offset 0
replaces the reserved set and a write at a later offset is ORed into it; the
kernel takes at most 4095 bytes per ``write()``.  So a value is written
through one descriptor until every byte is taken, and a change that only adds
ports is written from offset 1 on: ORed in, it never unreserves a port, not
even for an instant.  ``apply`` verifies by reading back and comparing sets,
and restores both keys on any failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.portguard.ephemeral.plugins.module_utils._ports import (
    PortSpecError,
    format_ports,
    format_range,
    parse_kernel_readback,
    parse_kernel_string,
    parse_range,
    parse_range_readback,
    well_formed_in_bounds,
)

RESERVED_KEY = 'net.ipv4.ip_local_reserved_ports'
RANGE_KEY = 'net.ipv4.ip_local_port_range'
UNPRIVILEGED_KEY = 'net.ipv4.ip_unprivileged_port_start'
KEYS = (RANGE_KEY, RESERVED_KEY)

# What a network namespace (the host's included) holds when no file sets the key.
DEFAULT_RANGE = (32768, 60999)
DEFAULT_RESERVED = frozenset()
DEFAULT_UNPRIVILEGED_PORT_START = 1024

PROC_SYS = '/proc/sys'
READ_SIZE = 1 << 20


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


def write_key(key, value, proc_sys=PROC_SYS, add_only=False):
    """Write ``value`` whole through one descriptor; raise SysctlError with advice.

    ``add_only``: start at offset 1, so that every write is ORed into the
    reserved set (for a new set that is a superset of the old one).
    """
    path = proc_path(key, proc_sys)
    data = value.encode('ascii')
    if not data.endswith(b'\n'):
        data += b'\n'
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        raise SysctlError(_write_advice(key, path, exc))
    try:
        if add_only:
            os.lseek(fd, 1, os.SEEK_SET)
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


def writable(proc_sys=PROC_SYS):
    """None when this process may write both keys, else why not (for check mode: the real run would fail)."""
    for key in KEYS:
        path = proc_path(key, proc_sys)
        try:
            fd = os.open(path, os.O_WRONLY)
        except OSError as exc:
            return _write_advice(key, path, exc)
        os.close(fd)
    return None


class LiveState(object):
    """The two keys as the kernel holds them, parsed."""

    __slots__ = ('port_range', 'reserved', 'unprivileged_port_start', 'raw_reserved')

    def __init__(self, port_range, reserved, unprivileged_port_start=DEFAULT_UNPRIVILEGED_PORT_START,
                 raw_reserved=None):
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
        start = DEFAULT_UNPRIVILEGED_PORT_START
    return LiveState(parse_range_readback(raw_range), parse_kernel_readback(raw_reserved),
                     start, raw_reserved)


def apply(before, after, proc_sys=PROC_SYS):
    """Make the live values equal ``after``; all or nothing.

    Writes only the keys that differ, in an order that never trips the kernel's
    rules, reads both back once and compares as sets.  A reserved set that only
    grows is ORed in (no instant without the old ports).  On any failure both
    keys are restored to ``before`` and SysctlError is raised.
    """
    try:
        if after.port_range != before.port_range:
            write_key(RANGE_KEY, format_range(after.port_range, ' '), proc_sys)
        if after.reserved != before.reserved:
            write_key(RESERVED_KEY, format_ports(after.reserved), proc_sys,
                      add_only=after.reserved >= before.reserved)
        check = read_live(proc_sys)
        if check != after:
            raise SysctlError('read-back verification failed: %s' % '; '.join(_differences(check, after)))
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


def _differences(check, after):
    problems = []
    if check.port_range != after.port_range:
        problems.append('%s reads %s, expected %s' % (
            RANGE_KEY, format_range(check.port_range, ' '), format_range(after.port_range, ' ')))
    if check.reserved != after.reserved:
        problems.append('%s has %d ports missing and %d unexpected after the write' % (
            RESERVED_KEY, len(after.reserved - check.reserved), len(check.reserved - after.reserved)))
    return problems


def _restore(before, proc_sys):
    errors = []
    for key, value in ((RANGE_KEY, format_range(before.port_range, ' ')),
                       (RESERVED_KEY, format_ports(before.reserved))):
        try:
            write_key(key, value, proc_sys)
        except SysctlError as exc:
            errors.append(str(exc))
    return errors


def parse_value(key, value, where, unprivileged_port_start):
    """A file's value for ``key`` as a range tuple or a port set; PortSpecError when the kernel would refuse it."""
    if key == RANGE_KEY:
        return parse_range(value, where, unprivileged_port_start)
    return parse_kernel_string(value, where)


def accepts(key, value, unprivileged_port_start):
    """Whether the kernel takes ``value`` for ``key`` (a refused write leaves the key unchanged)."""
    if key == RESERVED_KEY and well_formed_in_bounds(value):
        return True
    try:
        parse_value(key, value, key, unprivileged_port_start)
    except PortSpecError:
        return False
    return True


def default_value(key):
    return DEFAULT_RANGE if key == RANGE_KEY else DEFAULT_RESERVED


def default_text(key):
    """The default as a sysctl file would write it."""
    if key == RANGE_KEY:
        return format_range(DEFAULT_RANGE, ' ')
    return format_ports(DEFAULT_RESERVED)


BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id'


def boot_id(path=BOOT_ID_PATH):
    """This boot's id, or None when it cannot be read (records and files note the boot they were written in)."""
    try:
        with open(path) as handle:
            return handle.read().strip() or None
    except (IOError, OSError):
        return None
