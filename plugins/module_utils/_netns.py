# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network namespace a run works on: entering it (fails closed) and telling it apart from every other.

Private to the collection; standard library only.  Inode numbers are reused
once a namespace is gone; the kernel's namespace cookie (SO_NETNS_COOKIE,
Linux 5.14+) never is, so state kept per namespace is keyed by it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import ctypes.util
import os
import socket
import struct

CLONE_NEWNET = 0x40000000
SO_NETNS_COOKIE = 71
SELF = '/proc/self/ns/net'


class NetnsError(Exception):
    """The namespace cannot be entered or identified; nothing was changed."""


def identity(path=SELF):
    """Identity of the current network namespace: nsfs inode and device, the ``net:[...]`` link, the cookie.

    ``cookie`` is None where the kernel lacks it.
    """
    st = os.stat(path)
    return {'inode': st.st_ino, 'dev': st.st_dev, 'link': _readlink(path), 'cookie': cookie()}


def cookie():
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


def _setns(path):
    """Move this process into the network namespace at ``path``; fails closed."""
    try:
        target = os.stat(path)
    except OSError as exc:
        raise NetnsError('netns %s: %s; give /run/netns/NAME or /proc/PID/ns/net' % (path, exc.strerror))
    current = os.stat(SELF)
    if (target.st_ino, target.st_dev) == (current.st_ino, current.st_dev):
        return
    libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            raise NetnsError('cannot enter network namespace %s: %s (needs root / CAP_SYS_ADMIN, and '
                             'the path must be a network namespace)' % (path, os.strerror(code)))
    finally:
        os.close(fd)
    now = os.stat(SELF)
    if (now.st_ino, now.st_dev) != (target.st_ino, target.st_dev):
        raise NetnsError('entered %s but /proc/self/ns/net is still another namespace; refusing to write' % path)


class Namespace(object):
    """The namespace entered: its ``identity`` (with ``path`` as given) and whether the boot files configure it.

    The sysctl.d files configure the namespace the host boots with, the one this
    process started in; a namespace entered through ``netns`` gets its values from
    whoever creates it.
    """

    __slots__ = ('identity', 'booted_by_files')

    def __init__(self, ident, booted_by_files):
        self.identity = ident
        self.booted_by_files = booted_by_files

    @property
    def link(self):
        return self.identity.get('link')


def enter(path=None):
    """Enter ``path`` (None: stay) and identify the namespace; NetnsError when it cannot be done safely."""
    try:
        own = os.stat(SELF)
        if path:
            _setns(path)
        ident = identity()
    except OSError as exc:
        raise NetnsError('cannot identify the network namespace: %s' % exc)
    ident['path'] = path
    return Namespace(ident, (ident['inode'], ident['dev']) == (own.st_ino, own.st_dev))
