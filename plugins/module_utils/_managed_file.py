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
import re
import stat
import tempfile

from ansible_collections.portguard.ephemeral.plugins.module_utils import _boot_rules, _kernel, _owners, _ports
from ansible_collections.portguard.ephemeral.plugins.module_utils._files import kind, read_text, under_root
from ansible_collections.portguard.ephemeral.plugins.module_utils._state_dir import pid_alive

DEFAULT_PATH = '/etc/sysctl.d/zz-portguard-ephemeral.conf'
MANAGED_MARKER = '# Managed by portguard.ephemeral.local_ports'
STATE_PREFIX = '# portguard-state: '
# Written by 0.2.0 and earlier: one owned set, no owner names, no seal.
LEGACY_OWNED_PREFIX = '# portguard-owned-reserved: '
LEGACY_PENDING_PREFIX = '# portguard-pending-reserved: '
LEGACY_BOOT_ID_PREFIX = '# portguard-written-in-boot: '
TEMP_PREFIX = '.portguard-'
TEMP_SUFFIX = '.tmp'
HEADER = [
    MANAGED_MARKER,
    '# Do not edit: changes are replaced on the next run, and an edited file is not trusted to release ports.',
    '# See ansible-doc portguard.ephemeral.local_ports. Values are written whole by systemd-sysctl at boot;',
    '# procps "sysctl -p" truncates values over 4095 bytes.',
]


class ManagedFile(object):
    """One managed file as read: where, its text, our key values, and who holds its ports.

    ``trust`` says what the ownership state is: ``sealed`` (written by this
    version, seal intact), ``legacy`` (0.2.0: one owned set, adopted by owner
    ``unnamed``), ``unsealed`` (edited or damaged: never used to release a
    port; ``problem`` says why) or ``none`` (no file, or not ours).
    """

    __slots__ = ('path', 'exists', 'managed', 'text', 'values', 'holdings', 'pending', 'boot_id', 'trust',
                 'problem', 'mode')

    def __init__(self, path, text=None, mode=0o644):
        self.path = path
        self.exists = text is not None
        self.text = text or ''
        self.managed = self.text.startswith(MANAGED_MARKER)
        self.mode = mode
        self.values = dict((key, value) for _number, key, value, _ignore in _boot_rules.parse_lines(self.text))
        self.holdings = _owners.Holdings()
        self.pending = frozenset()
        self.boot_id = None
        self.trust, self.problem = 'none', None
        if self.managed:
            self._read_state()

    def _read_state(self):
        lines = self.text.splitlines()
        states = [line[len(STATE_PREFIX):] for line in lines if line.startswith(STATE_PREFIX)]
        if not states:
            self._read_legacy(lines)
            return
        try:
            state = _owners.load(states[-1], _bound_text(_value_list(self.text)), self.path)
            self.holdings = _owners.from_state(state, self.path)
            self.pending = _ports.parse_kernel_string(state.get('pending', '') + '\n', self.path)
            self.boot_id = state.get('boot_id')
            self.trust = 'sealed'
        except (_owners.StateUnsealed, _ports.PortSpecError) as exc:
            self.trust, self.problem = 'unsealed', str(exc)

    def _read_legacy(self, lines):
        found = dict((prefix, line[len(prefix):].strip()) for line in lines
                     for prefix in (LEGACY_OWNED_PREFIX, LEGACY_PENDING_PREFIX, LEGACY_BOOT_ID_PREFIX)
                     if line.startswith(prefix))
        try:
            owned = _ports.parse_kernel_string(found.get(LEGACY_OWNED_PREFIX, '') + '\n', self.path)
            reserved = _ports.parse_kernel_string(self.values.get(_kernel.RESERVED_KEY, '') + '\n', self.path)
            self.pending = _ports.parse_kernel_string(found.get(LEGACY_PENDING_PREFIX, '') + '\n', self.path)
        except _ports.PortSpecError as exc:
            self.trust, self.problem = 'unsealed', str(exc)
            return
        self.boot_id = found.get(LEGACY_BOOT_ID_PREFIX)
        # 0.2.0 persisted every live port; all of them stay reserved, held by the owner of calls without a name.
        self.holdings = _owners.Holdings({_owners.UNNAMED: reserved | owned}, owned)
        self.trust = 'legacy'

    @property
    def reserved(self):
        """The reserved ports the file sets (empty when it sets none or an invalid value)."""
        try:
            return _ports.parse_kernel_string(self.values.get(_kernel.RESERVED_KEY, '') + '\n', self.path)
        except _ports.PortSpecError:
            return frozenset()


def _value_list(text):
    return [(key, value) for _number, key, value, _ignore in _boot_rules.parse_lines(text)]


def _bound_text(values):
    """What the state's seal is bound to: the key lines it sits next to."""
    return '\n'.join('%s = %s' % (key, value) for key, value in values)


def read(path, root='/'):
    """The managed file at ``path`` (``exists`` false when there is none)."""
    full = under_root(root, path)
    return ManagedFile(path, read_text(full), _mode_of(full))


def render(values, holdings, pending=frozenset(), boot_id=None, carried=frozenset()):
    """The persisted file: the header, who holds which ports (for people), our keys, the sealed state.

    ``values``: (key, value) pairs in the order to write.  ``holdings``: the
    owners whose ports this file persists.  ``pending`` (with ``boot_id``):
    ports a live: false run persisted, ours once a later boot has applied the
    file.  ``carried``: ports other sysctl files declare, kept here because
    this file hides their lines at boot.
    """
    lines = list(HEADER)
    described = _owners.describe(holdings)
    if described:
        lines.append('# Owners (a port stays reserved until the last owner holding it drops it):')
        lines.extend('#   %s' % line for line in described)
    if carried:
        lines.append('# Carried for other sysctl files, whose lines this file hides at boot: %s'
                     % _ports.format_ports(carried))
    for key, value in values:
        lines.append('%s = %s' % (key, value))
    extra = {'pending': _ports.format_ports(pending), 'boot_id': boot_id if pending else None}
    lines.append(STATE_PREFIX + _owners.dump(_owners.to_state(holdings, **extra), _bound_text(values)))
    return '\n'.join(lines) + '\n'


def differs(managed, values, holdings, pending=frozenset()):
    """Whether ``managed`` must be rewritten to hold ``values``, ``holdings`` and ``pending``: by meaning, not text."""
    if not managed.exists or not managed.managed or managed.trust != 'sealed':
        return True
    if managed.holdings != holdings or managed.pending != pending:
        return True
    current = managed.values
    if current == dict(values):
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
    return False


def refuse_link(path, root='/'):
    """None, or why ``path`` must not be written: a symbolic link (dangling or not) is never written through, and
    a directory, FIFO, socket or device is never replaced."""
    full = under_root(root, path)
    try:
        mode = os.lstat(full).st_mode
    except OSError:
        return None
    if not stat.S_ISLNK(mode):
        if stat.S_ISREG(mode):
            return None
        return ('path: %s is a %s, not a file; the module writes only regular files. Give another path, or remove '
                'it; nothing was changed' % (path, kind(mode)))
    try:
        target = os.readlink(full)
    except OSError:
        target = '?'
    return ('path: %s is a symbolic link (to %s); the module never writes through links. Give the real file as '
            'path, or remove the link; nothing was changed' % (path, target))


def earlier_files(path, root='/'):
    """Managed files at another name than ``path`` (None: every managed file): [ManagedFile], links never taken.

    Regular files in the sysctl.d directories whose first line is our header
    (99-sysctl.conf -> ../sysctl.conf is a link, and not ours).
    """
    found = []
    seen = set([os.path.realpath(under_root(root, path))]) if path else set()
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
    fd, tmp = tempfile.mkstemp(prefix='%s%d-' % (TEMP_PREFIX, os.getpid()), suffix=TEMP_SUFFIX, dir=directory)
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


def check_path(path):
    """None, or why ``path`` cannot be the managed file: it must be a plain ``*.conf`` name directly inside a
    directory that systemd-sysctl and procps both read, with no ``..`` and no control characters."""
    shown = repr(path)
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        return 'path: %s holds a control character (a newline, tab or the like); nothing was changed' % shown
    if '/../' in path + '/' or '/./' in path + '/':
        return 'path: %s climbs with "." or ".."; give the file directly, e.g. %s; nothing was changed' % (
            shown, DEFAULT_PATH)
    directory, name = os.path.split(os.path.normpath(path))
    if directory not in _boot_rules.SYSCTL_DIRS or not name.endswith('.conf') or name.startswith('.') \
            or name == '.conf':
        return ('path: %s is not a *.conf file directly inside one of %s (the directories systemd-sysctl and '
                'procps read at boot); give a name such as %s; nothing was changed'
                % (shown, ', '.join(_boot_rules.SYSCTL_DIRS), DEFAULT_PATH))
    return None


def sweep(root='/'):
    """Remove temporary files that killed runs left in the sysctl directories (their pid is gone); their names."""
    removed = []
    pattern = re.compile(r'^%s(?P<pid>[0-9]+)-.*%s$' % (re.escape(TEMP_PREFIX), re.escape(TEMP_SUFFIX)))
    for directory in _boot_rules.PROCPS_DIRS:
        full_dir = under_root(root, directory)
        try:
            names = os.listdir(full_dir) if not os.path.islink(full_dir) else []
        except OSError:
            continue
        for name in names:
            match = pattern.match(name)
            if not match or int(match.group('pid')) == os.getpid() or pid_alive(int(match.group('pid'))):
                continue
            try:
                os.unlink(os.path.join(full_dir, name))
                removed.append(os.path.join(directory, name))
            except OSError:
                pass
    return removed


def remove(path, root='/'):
    os.unlink(under_root(root, path))


def _mode_of(full):
    try:
        return os.lstat(full).st_mode & 0o7777
    except OSError:
        return 0o644
