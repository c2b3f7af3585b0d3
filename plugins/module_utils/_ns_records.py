# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-namespace ownership records in the state directory: named, read, written, and removed once stale.

Private to the collection; standard library only.

Ownership records (``owned-netns-*``) say which live reserved ports this module
put there, for one network namespace.  The name holds the namespace's cookie
(never reused while the machine runs) or, on kernels without SO_NETNS_COOKIE
(before Linux 5.14), its nsfs inode and device.  Each record also holds the
boot id, inode, device and cookie, so a record left from another boot, or from
a namespace that no longer exists, is recognised and removed (``cleanup``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os

from ansible_collections.portguard.ephemeral.plugins.module_utils._state_dir import (
    LOCK_PREFIX,
    Lock,
    StateError,
    netns_key,
)

RECORD_PREFIX = 'owned-netns-'


def record_name(identity):
    return RECORD_PREFIX + netns_key(identity)


def parse_record(text):
    """A record's fields: {'owned': str, 'boot_id', 'inode', 'dev', 'cookie'} (older records: owned only)."""
    text = text or ''
    try:
        data = json.loads(text)
    except ValueError:
        return {'owned': text.strip(), 'boot_id': None, 'inode': None, 'dev': None, 'cookie': None}
    if not isinstance(data, dict):
        raise ValueError('not a record')
    return {'owned': str(data.get('owned') or ''), 'boot_id': data.get('boot_id'),
            'inode': data.get('inode'), 'dev': data.get('dev'), 'cookie': data.get('cookie')}


def render_record(identity, owned, current_boot_id):
    return json.dumps({'owned': owned, 'boot_id': current_boot_id, 'inode': identity['inode'],
                       'dev': identity['dev'], 'cookie': identity.get('cookie')}, sort_keys=True) + '\n'


def record_is_stale(record, identity, current_boot_id):
    """Whether ``record`` (found under this namespace's name) belongs to an earlier namespace.

    From another boot (/run kept across a reboot), or naming an inode that is
    this namespace's but a cookie that is not (the inode was reused).
    """
    if record.get('boot_id') and current_boot_id and record['boot_id'] != current_boot_id:
        return True
    if record.get('inode') is not None and (record['inode'], record['dev']) != (identity['inode'], identity['dev']):
        return True
    if record.get('cookie') is not None and identity.get('cookie') is not None \
            and record['cookie'] != identity['cookie']:
        return True
    return False


def live_namespaces(proc='/proc'):
    """(inode, dev) of every network namespace this host can see: processes' and nsfs mounts'.

    Returns None when the picture is incomplete, so that no record is taken for
    gone on a guess: a process whose namespace cannot be read (EACCES/EPERM, as
    for pid 1 in some sandboxes) or no /proc at all.
    """
    found = set()
    try:
        pids = [name for name in os.listdir(proc) if name.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            st = os.stat(os.path.join(proc, pid, 'ns', 'net'))
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM):
                return None
            continue  # the process has just ended
        found.add((st.st_ino, st.st_dev))
    if not found:
        return None
    try:
        with open(os.path.join(proc, 'self', 'mountinfo')) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return None
    for line in lines:
        fields = line.split(' - ', 1)
        if len(fields) != 2 or not fields[1].startswith('nsfs '):
            continue
        mount_point = fields[0].split(' ')[4].replace('\\040', ' ')
        try:
            st = os.stat(mount_point)
        except OSError:
            return None
        found.add((st.st_ino, st.st_dev))
    return found


def cleanup(state_dir, identity, current_boot_id, alive):
    """Remove records of namespaces that no longer exist; returns the names removed.

    A record is removed when it is from another boot, when the namespace it
    names (inode and device) is held by no process and no nsfs mount, or when
    it names this namespace's inode with another cookie.  Records whose
    namespace is being worked on by another run (its lock is held) are left.
    Records without those details (written by older versions) are kept.
    """
    removed = []
    try:
        names = sorted(state_dir.names())
    except OSError:
        return removed
    own = record_name(identity)
    for name in names:
        if not name.startswith(RECORD_PREFIX) or name == own:
            continue
        try:
            record = parse_record(state_dir.read(name))
        except (StateError, ValueError):
            continue
        if record['inode'] is None:
            continue
        stale = bool(record['boot_id'] and current_boot_id and record['boot_id'] != current_boot_id)
        key = (record['inode'], record['dev'])
        if not stale and alive is not None and key not in alive:
            stale = True
        if not stale and key == (identity['inode'], identity['dev']) and record['cookie'] != identity.get('cookie'):
            stale = True
        if not stale:
            continue
        lock = Lock(state_dir, LOCK_PREFIX + 'netns-' + name[len(RECORD_PREFIX):], {'task': 'cleanup'},
                    'the stale record %s' % name)
        try:
            if not lock.acquire(0, blocking=False):
                continue
        except StateError:
            continue
        try:
            state_dir.remove(name)
            removed.append(name)
        except OSError:
            pass
        finally:
            lock.release()
    return removed
