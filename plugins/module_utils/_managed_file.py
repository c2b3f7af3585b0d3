# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The managed sysctl.d file: rendered, read, found under an earlier name, and replaced atomically, never through a link.

Private to the collection; standard library only.  The file holds only this
collection's keys, under a header that marks it as ours; a file without the
header is never overwritten.  There is one managed file per host: a file with
the header at another name is an earlier ``path``, replaced by the current one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import tempfile

from ansible_collections.portguard.ephemeral.plugins.module_utils import _boot_rules, _kernel, _ports
from ansible_collections.portguard.ephemeral.plugins.module_utils._files import read_text, under_root

DEFAULT_PATH = '/etc/sysctl.d/zz-portguard-ephemeral.conf'
MANAGED_MARKER = '# Managed by portguard.ephemeral.local_ports'
OWNED_PREFIX = '# portguard-owned-reserved: '
# Ports a live: false run persisted that are not reserved live yet, and the boot they were written in.
PENDING_PREFIX = '# portguard-pending-reserved: '
BOOT_ID_PREFIX = '# portguard-written-in-boot: '
TEMP_PREFIX = '.portguard-'
TEMP_SUFFIX = '.tmp'


class ManagedFile(object):
    """One managed file as read: where, its text, our key values, and the ownership lines."""

    __slots__ = ('path', 'exists', 'managed', 'text', 'values', 'owned', 'pending', 'boot_id', 'mode')

    def __init__(self, path, text=None, mode=0o644):
        self.path = path
        self.exists = text is not None
        self.text = text or ''
        self.managed = self.text.startswith(MANAGED_MARKER)
        self.values = {}
        self.owned = self.pending = self.boot_id = None
        self.mode = mode
        for line in self.text.splitlines():
            if line.startswith(OWNED_PREFIX):
                self.owned = line[len(OWNED_PREFIX):].strip()
            elif line.startswith(PENDING_PREFIX):
                self.pending = line[len(PENDING_PREFIX):].strip()
            elif line.startswith(BOOT_ID_PREFIX):
                self.boot_id = line[len(BOOT_ID_PREFIX):].strip()
        for _number, key, value, _ignore in _boot_rules.parse_lines(self.text):
            self.values[key] = value


def read(path, root='/'):
    """The managed file at ``path`` (``exists`` false when there is none)."""
    full = under_root(root, path)
    return ManagedFile(path, read_text(full), _mode_of(full))


def render(values, owned, pending='', boot_id=None):
    """The persisted file: a managed header, the owned-port record, our keys only.

    ``values`` is a list of (key, value) in the order to write.  ``owned`` is the
    canonical string of the reserved ports this module owns (merge mode).
    ``pending`` (with ``boot_id``): ports a live: false run persisted, ours once
    a later boot has applied the file.
    """
    lines = [MANAGED_MARKER,
             '# Do not edit: changes are replaced on the next run. See ansible-doc portguard.ephemeral.local_ports.',
             '# Values are written whole by systemd-sysctl at boot; procps "sysctl -p" truncates values over 4095 bytes.']
    lines.append(OWNED_PREFIX + owned)
    if pending:
        lines.append(PENDING_PREFIX + pending)
        lines.append(BOOT_ID_PREFIX + (boot_id or 'unknown'))
    for key, value in values:
        lines.append('%s = %s' % (key, value))
    return '\n'.join(lines) + '\n'


def differs(managed, values, owned_text, pending_text=''):
    """Whether ``managed`` must be rewritten to hold ``values`` and the ownership lines: by meaning, not text."""
    if not managed.exists or not managed.managed:
        return True
    current = managed.values
    if (managed.pending or '') != pending_text:
        return True
    if current == dict(values) and (managed.owned or '') == owned_text:
        return False  # the same canonical text: no need to build port sets
    if set(current) != set(key for key, _value in values):
        return True
    for key, value in values:
        try:
            if key == _kernel.RANGE_KEY:
                if tuple(int(x) for x in current[key].split()) != tuple(int(x) for x in value.split()):
                    return True
            elif _ports.parse_kernel_string(current[key]) != _ports.parse_kernel_string(value):
                return True
        except (ValueError, _ports.PortSpecError):
            return True
    try:
        return _ports.parse_kernel_string(managed.owned or '') != _ports.parse_kernel_string(owned_text)
    except _ports.PortSpecError:
        return True


def refuse_link(path, root='/'):
    """None, or why ``path`` must not be written: a symbolic link (dangling or not) is never written through."""
    full = under_root(root, path)
    if not os.path.islink(full):
        return None
    try:
        target = os.readlink(full)
    except OSError:
        target = '?'
    return ('path: %s is a symbolic link (to %s); the module never writes through links. Give the real file as '
            'path, or remove the link; nothing was changed' % (path, target))


def earlier_files(path, root='/'):
    """Managed files at another name (an earlier ``path``): [ManagedFile], links never taken.

    Regular files in the sysctl.d directories whose first line is our header
    (99-sysctl.conf -> ../sysctl.conf is a link, and not ours).
    """
    found = []
    seen = set([os.path.realpath(under_root(root, path))])
    for directory in _boot_rules.PROCPS_DIRS:
        full_dir = under_root(root, directory)
        if os.path.islink(full_dir) or not os.path.isdir(full_dir):
            continue
        try:
            names = sorted(os.listdir(full_dir))
        except OSError:
            continue
        for name in names:
            full = os.path.join(full_dir, name)
            if not name.endswith('.conf') or os.path.islink(full) or not os.path.isfile(full) \
                    or os.path.realpath(full) in seen:
                continue
            seen.add(os.path.realpath(full))
            other = read(os.path.join(directory, name), root)
            if other.managed:
                found.append(other)
    return found


def write_atomic(path, text, mode=0o644, root='/'):
    """Write ``text`` to ``path`` atomically: temp file in the same directory, fsync, rename.

    A symbolic link at ``path`` is refused (OSError ELOOP), dangling or not: the
    module never writes through links.  The rename replaces the name itself, so a
    link planted after the check is replaced, not followed.
    """
    full = under_root(root, path)
    if os.path.islink(full):
        raise OSError(errno.ELOOP, 'is a symbolic link; refusing to write through it', full)
    directory = os.path.dirname(full)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(text.encode('utf-8'))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, full)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _fsync_dir(directory):
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def remove(path, root='/'):
    os.unlink(under_root(root, path))


def _mode_of(full):
    try:
        return os.lstat(full).st_mode & 0o7777
    except OSError:
        return 0o644
