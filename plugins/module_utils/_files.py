# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files on the target, opened so that no FIFO, device or socket can block a run and no link redirects a write.

Private to the collection; standard library only.  Every read opens with
O_NONBLOCK and checks the file type on the descriptor before reading: a FIFO
planted where a file is expected is never waited on.  Links are followed on
reads (sysctl.d uses them: ``99-sysctl.conf -> ../sysctl.conf``, masks to
/dev/null), never on writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

NONBLOCK = getattr(os, 'O_NONBLOCK', 0)
NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
NOCTTY = getattr(os, 'O_NOCTTY', 0)
DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
READ_FLAGS = os.O_RDONLY | NONBLOCK | CLOEXEC | NOCTTY


class NotRegular(OSError):
    """A name that is not a regular file (a FIFO, device, socket or directory): never read or written."""

    def __init__(self, path, mode):
        OSError.__init__(self, errno.EINVAL, 'is a %s, not a regular file' % kind(mode), path)
        self.mode = mode


def kind(mode):
    """A file type in words."""
    for test, word in ((stat.S_ISFIFO, 'FIFO'), (stat.S_ISSOCK, 'socket'), (stat.S_ISCHR, 'character device'),
                       (stat.S_ISBLK, 'block device'), (stat.S_ISDIR, 'directory'), (stat.S_ISLNK, 'symbolic link'),
                       (stat.S_ISREG, 'regular file')):
        if test(mode):
            return word
    return 'special file'


def under_root(root, path):
    if root in (None, '', '/'):
        return path
    return os.path.join(root, path.lstrip('/'))


def strip_root(root, path):
    if root in (None, '', '/'):
        return path
    root = root.rstrip('/')
    if path.startswith(root + '/'):
        return path[len(root):]
    return path


def read_fd(fd):
    """Everything left on ``fd``, as text."""
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b''.join(chunks).decode('utf-8', 'replace')


def open_regular(path, flags=READ_FLAGS, dir_fd=None, mode=0o600):
    """A descriptor on ``path`` once it is known to be a regular file; NotRegular (descriptor closed) if not."""
    fd = os.open(path, flags, mode, dir_fd=dir_fd) if dir_fd is not None else os.open(path, flags, mode)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegular(path, st.st_mode)
    return fd


def read_text(path):
    """A regular file's text, or None when it is absent, unreadable or not a regular file (a FIFO is not waited on)."""
    try:
        fd = open_regular(path)
    except (IOError, OSError):
        return None
    try:
        return read_fd(fd)
    except (IOError, OSError):
        return None
    finally:
        os.close(fd)
