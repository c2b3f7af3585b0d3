# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-namespace records of the live-only owners in the state directory: named, sealed, read, removed once stale.

Private to the collection; standard library only.

Ownership records (``owned-netns-*``) say which owners hold which live-only
ports in one network namespace, and which of them this module put there
(owners whose runs persist are recorded in the managed file instead).  The name holds the namespace's cookie
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

from ansible_collections.portguard.ephemeral.plugins.module_utils import _owners, _ports
from ansible_collections.portguard.ephemeral.plugins.module_utils._state_dir import (
    LOCK_PREFIX,
    Lock,
    StateError,
    netns_key,
)

RECORD_PREFIX = 'owned-netns-'
# The journal of a run under way (_journal): removed with the namespace's records.
INTENT_PREFIX = 'intent-netns-'
PREFIXES = (RECORD_PREFIX, INTENT_PREFIX)


def record_name(identity):
    return RECORD_PREFIX + netns_key(identity)


def intent_name(identity):
    return INTENT_PREFIX + netns_key(identity)


def binding(identity, boot_id):
    """What a record's seal is bound to: the namespace (inode, device, cookie) and the boot."""
    return 'netns %s:%s:%s boot %s' % (identity['inode'], identity['dev'], identity.get('cookie'), boot_id)


def parse_fields(text):
    """The identity fields of a record (this version's or 0.2.0's): {'boot_id', 'inode', 'dev', 'cookie'}.

    ValueError when the text is not a JSON record at all.
    """
    data = json.loads(text or '')
    if not isinstance(data, dict):
        raise ValueError('not a record')
    return {'boot_id': data.get('boot_id'), 'inode': data.get('inode'), 'dev': data.get('dev'),
            'cookie': data.get('cookie')}


def is_stale(fields, identity, current_boot_id):
    """Whether a record found under this namespace's name belongs to an earlier namespace.

    From another boot (/run kept across a reboot), or naming an inode that is
    this namespace's but a cookie that is not (the inode was reused).
    """
    if fields.get('boot_id') and current_boot_id and fields['boot_id'] != current_boot_id:
        return True
    if fields.get('inode') is not None and (fields['inode'], fields['dev']) != (identity['inode'], identity['dev']):
        return True
    if fields.get('cookie') is not None and identity.get('cookie') is not None \
            and fields['cookie'] != identity['cookie']:
        return True
    return False


class Record(object):
    """This namespace's record of its live-only owners, as read.

    ``trust``: ``sealed`` (this version's, seal intact), ``legacy`` (0.2.0's
    owned set, adopted by owner ``unnamed``), ``stale`` (another boot or an
    earlier namespace: ignored and replaced), ``unsealed`` (not trusted:
    ``problem`` says why) or ``none`` (no record).
    """

    __slots__ = ('holdings', 'trust', 'problem', 'exists')

    def __init__(self, holdings=None, trust='none', problem=None, exists=False):
        self.holdings = holdings or _owners.Holdings()
        self.trust, self.problem, self.exists = trust, problem, exists


def parse(text, identity, current_boot_id, where):
    """The Record in ``text`` (None: no record)."""
    if text is None:
        return Record()
    try:
        fields = parse_fields(text)
    except ValueError:
        return Record(trust='unsealed', problem='%s: not a record this module wrote' % where, exists=True)
    if is_stale(fields, identity, current_boot_id):
        return Record(trust='stale', exists=True)
    data = json.loads(text)
    if 'format' not in data:
        try:
            owned = _ports.parse_kernel_string(str(data.get('owned') or '') + '\n', where)
        except _ports.PortSpecError as exc:
            return Record(trust='unsealed', problem=str(exc), exists=True)
        if fields['inode'] is None:
            return Record(trust='unsealed', problem='%s: names no namespace' % where, exists=True)
        return Record(_owners.Holdings({_owners.UNNAMED: owned}, owned), 'legacy', exists=True)
    try:
        state = _owners.load(text, binding(identity, current_boot_id), where)
        return Record(_owners.from_state(state, where), 'sealed', exists=True)
    except _owners.StateUnsealed as exc:
        return Record(trust='unsealed', problem=str(exc), exists=True)


def read(state_dir, identity, current_boot_id):
    """This namespace's Record (StateError when the name is a link, FIFO or other non-file)."""
    name = record_name(identity)
    return parse(state_dir.read(name), identity, current_boot_id, state_dir.full(name))


def render(identity, current_boot_id, holdings):
    """The record of ``holdings`` (the live-only owners) for this namespace and boot."""
    state = _owners.to_state(holdings, boot_id=current_boot_id, inode=identity['inode'], dev=identity['dev'],
                             cookie=identity.get('cookie'))
    return _owners.dump(state, binding(identity, current_boot_id)) + '\n'


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
    """Remove records (and journals) of namespaces that no longer exist; returns the names removed.

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
    own = (record_name(identity), intent_name(identity))
    for name in names:
        prefix = [p for p in PREFIXES if name.startswith(p)]
        if not prefix or name in own:
            continue
        try:
            record = parse_fields(state_dir.read(name))
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
        lock = Lock(state_dir, LOCK_PREFIX + 'netns-' + name[len(prefix[0]):], {'task': 'cleanup'},
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
