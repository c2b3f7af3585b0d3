# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state directory /run/portguard-ephemeral and its locks: opened without following links, waited for boundedly.

Private to the collection; standard library only.

Every file here is opened relative to the state directory's descriptor with
O_NOFOLLOW: a symbolic link planted at any name (the directory included) is
refused, never followed.  The directory is created 0700 and must belong to
the user running the module.

Locks are ``flock`` on ``lock-*`` files, taken with a bounded wait.  The holder
writes its pid and what it is doing into the file, so a run that times out can
name it.  A lock file is removed by its holder on release; a waiter that got a
lock on a removed file notices (the name no longer points at its inode) and
tries again.  A process that dies releases its lock with its descriptors.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import time

from ansible_collections.portguard.ephemeral.plugins.module_utils._files import kind, read_fd

DEFAULT_DIR = '/run/portguard-ephemeral'
LOCK_PREFIX = 'lock-'
POLL = 0.05
_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
_NONBLOCK = getattr(os, 'O_NONBLOCK', 0)
# A temporary file of StateDir.write: .NAME.PID.tmp
TEMP_RE = re.compile(r'^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.tmp$')


class StateError(Exception):
    """The state directory, a lock or a record cannot be used safely; nothing was changed."""


class LockTimeout(StateError):
    """Another run held the lock for longer than the allowed wait."""


def netns_key(identity):
    """The part of a record's or lock's name that identifies the namespace: its cookie, else inode and device."""
    if identity.get('cookie') is not None:
        return '%d' % identity['cookie']
    return 'ino%d-dev%d' % (identity['inode'], identity['dev'])


def netns_lock_name(identity):
    return LOCK_PREFIX + 'netns-' + netns_key(identity)


def path_lock_name(path):
    return LOCK_PREFIX + 'path-' + hashlib.sha256(path.encode('utf-8')).hexdigest()[:24]


def pid_alive(pid):
    """Whether a process with ``pid`` exists (EPERM: it does, owned by someone else)."""
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


class StateDir(object):
    """The state directory, opened once without following links."""

    def __init__(self, path=DEFAULT_DIR):
        self.path = path
        self.fd = None

    def open(self, create=True):
        if self.fd is not None:
            return self
        try:
            if create:
                os.mkdir(self.path, 0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise StateError('cannot create %s: %s; nothing was changed' % (self.path, exc.strerror))
        try:
            fd = os.open(self.path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise StateError('%s is not a directory (a symbolic link or a file is there); the module never '
                                 'follows links for its state. Remove it; nothing was changed' % self.path)
            raise StateError('cannot open %s: %s; nothing was changed' % (self.path, exc.strerror))
        st = os.fstat(fd)
        if st.st_uid != os.geteuid():
            os.close(fd)
            raise StateError('%s belongs to uid %d, not to this user (uid %d); refusing to keep state in it. '
                             'Remove it; nothing was changed' % (self.path, st.st_uid, os.geteuid()))
        if create and stat.S_IMODE(st.st_mode) != 0o700:
            os.fchmod(fd, 0o700)
        self.fd = fd
        return self

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def full(self, name):
        return os.path.join(self.path, name)

    def names(self):
        return os.listdir(self.fd)

    def _lstat(self, name):
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise

    def read(self, name):
        """A file's text, or None when it does not exist; a link or non-file is refused."""
        try:
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _NONBLOCK, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            if exc.errno == errno.ELOOP:
                raise StateError('%s is a symbolic link; the module never follows links for its state. '
                                 'Remove it; nothing was changed' % self.full(name))
            raise StateError('cannot read %s: %s; nothing was changed' % (self.full(name), exc.strerror))
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise StateError('%s is a %s, not a regular file; remove it; nothing was changed'
                                 % (self.full(name), kind(mode)))
            return read_fd(fd)
        finally:
            os.close(fd)

    def write(self, name, text):
        """Replace ``name`` atomically (temp file, fsync, rename); mode 0600, never through a link."""
        tmp = '.%s.%d.tmp' % (name, os.getpid())
        self.remove(tmp)  # left by a run that died with this pid; the caller holds the lock
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=self.fd)
        try:
            try:
                data = text.encode('utf-8')
                while data:
                    data = data[os.write(fd, data):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=self.fd)
            except OSError:
                pass
            raise

    def remove(self, name):
        try:
            os.unlink(name, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise

    def sweep(self, own_names):
        """Remove temporary files of killed runs: of ``own_names`` (whose lock the caller holds), or of a pid
        that no longer runs.  Returns the names removed."""
        removed = []
        for name in sorted(self.names()):
            match = TEMP_RE.match(name)
            if not match:
                continue
            pid = int(match.group('pid'))
            if match.group('name') in own_names or (pid != os.getpid() and not pid_alive(pid)):
                try:
                    self.remove(name)
                    removed.append(name)
                except OSError:
                    pass
        return removed


class Lock(object):
    """An exclusive flock on ``dir/name``, waited for at most ``timeout`` seconds."""

    def __init__(self, state_dir, name, holder_info, what):
        self.dir = state_dir
        self.name = name
        self.info = holder_info
        self.what = what
        self.fd = None

    def _open(self):
        try:
            fd = os.open(self.name, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC | _NONBLOCK, 0o600,
                         dir_fd=self.dir.fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StateError('lock file %s is a symbolic link; the module never follows links for its '
                                 'state. Remove it; nothing was changed' % self.dir.full(self.name))
            raise StateError('cannot open lock file %s: %s; nothing was changed'
                             % (self.dir.full(self.name), exc.strerror))
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise StateError('lock file %s is a %s, not a regular file; remove it; nothing was changed'
                             % (self.dir.full(self.name), kind(mode)))
        return fd

    def acquire(self, timeout, blocking=True):
        """Take the lock; False when ``blocking`` is false and someone holds it."""
        deadline = time.time() + max(timeout, 0)
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                holder = _holder_text(fd)
                os.close(fd)
                if not blocking:
                    return False
                if time.time() >= deadline:
                    raise LockTimeout(
                        'another run holds the lock for %s (%s: %s) and did not release it within '
                        'lock_timeout=%ss; nothing was changed. Wait for it to finish, or stop it if it hangs'
                        % (self.what, self.dir.full(self.name), holder, _fmt_seconds(timeout)))
                time.sleep(POLL)
                continue
            # The holder before us may have removed the file after we opened it:
            # a lock on a removed inode protects nothing.  Start again.
            now = self.dir._lstat(self.name)
            here = os.fstat(fd)
            if now is None or (now.st_ino, now.st_dev) != (here.st_ino, here.st_dev):
                os.close(fd)
                continue
            self.fd = fd
            try:
                self._write_info()
            except (IOError, OSError) as exc:
                self.release()
                raise StateError('cannot write the holder details into the lock file %s: %s; the lock was '
                                 'released again and nothing was changed. Free space in %s'
                                 % (self.dir.full(self.name), exc.strerror or exc, self.dir.path))
            return True

    def _write_info(self):
        info = dict(self.info)
        info['pid'] = os.getpid()
        info['since'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        data = (json.dumps(info, sort_keys=True) + '\n').encode('utf-8')
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.write(self.fd, data)

    def release(self):
        if self.fd is None:
            return
        try:
            self.dir.remove(self.name)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def _fmt_seconds(value):
    return ('%g' % value) if isinstance(value, float) else '%s' % value


def kernel_holders(fd, locks='/proc/locks'):
    """The pids that hold a flock on the file open at ``fd``, as the kernel lists them (``/proc/locks``)."""
    st = os.fstat(fd)
    key = '%02x:%02x:%d' % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    pids = []
    try:
        with open(locks) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return pids
    for line in lines:
        # "1: FLOCK  ADVISORY  WRITE 4242 00:1a:67890 0 EOF"; a waiter's line has "->" after the number.
        fields = line.split()
        if len(fields) >= 6 and fields[1] == 'FLOCK' and fields[5] == key and fields[4].isdigit():
            pids.append(int(fields[4]))
    return pids


def describe_process(pid, proc='/proc'):
    """``python3: /usr/bin/python3 /root/.ansible/tmp/.../AnsiballZ_local_ports.py`` or what can be read of it."""
    def read(name):
        try:
            with open(os.path.join(proc, str(pid), name), 'rb') as handle:
                return handle.read().decode('utf-8', 'replace')
        except (IOError, OSError):
            return None
    comm = (read('comm') or '?').strip()
    cmdline = ' '.join(part for part in (read('cmdline') or '').split('\0') if part)
    text = '%s: %s' % (comm, cmdline) if cmdline else comm
    return ''.join(char if char.isprintable() else '?' for char in text)[:200]


def _holder_text(fd):
    """Who holds the lock, as the kernel says; the holder's own details only when its pid is that one."""
    pids = kernel_holders(fd)
    if not pids:
        return 'the holder released it just now, or it is not visible from here'
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode('utf-8', 'replace'))
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or info.get('pid') != pids[0]:
        return ('held by pid %d (%s), which is not a run of this module or has not said what it does yet'
                % (pids[0], describe_process(pids[0])))
    parts = ['held by pid %d (%s)' % (pids[0], describe_process(pids[0]))]
    if info.get('since'):
        parts.append('since %s' % info['since'])
    for key in ('task', 'netns', 'path'):
        if info.get(key):
            parts.append('%s %s' % (key, ''.join(c if c.isprintable() else '?' for c in str(info[key]))[:200]))
    return ', '.join(parts)


class Locks(object):
    """Several locks taken in a fixed order (namespace first, then paths sorted) and released together."""

    def __init__(self, state_dir, holder_info, timeout):
        self.dir = state_dir
        self.info = holder_info
        self.timeout = timeout
        self.held = []

    def take(self, name, what):
        lock = Lock(self.dir, name, self.info, what)
        lock.acquire(self.timeout)
        self.held.append(lock)

    def release(self):
        while self.held:
            self.held.pop().release()
