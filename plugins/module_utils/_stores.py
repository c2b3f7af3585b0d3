# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the owners' holdings live, read together: the managed file, the namespace record, an interrupted run's journal.

Private to the collection; standard library only.  An owner whose runs
persist is kept in the managed file (so its ports and its ownership survive a
reboot); a live-only owner in the namespace's record under /run (gone with
the namespace or the boot, like its ports).  Each owner is in one of them.
Nothing that is not sealed by this version, or 0.2.0's unnamed format, is
trusted to release a port.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.ephemeral.plugins.module_utils import _journal, _ns_records, _owners, _ports
from ansible_collections.portguard.ephemeral.plugins.module_utils._state_dir import StateError
from ansible_collections.portguard.ephemeral.plugins.module_utils._task import TaskError


class Found(object):
    """What the stores hold for one namespace, merged.

    ``holdings`` (every owner), ``file_owners`` (names kept in the managed
    file), ``record`` (the _ns_records.Record read), ``carried`` (ports of a
    managed file that cannot be trusted: kept, never released), ``pending``
    and ``pending_boot_id`` (a live: false run's ports not live yet),
    ``recovery`` (an interrupted run to finish, or None).
    """

    __slots__ = ('holdings', 'file_owners', 'record', 'carried', 'pending', 'pending_boot_id', 'recovery')

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields.get(name))


def _from_files(files, live_reserved, boot_id, warnings):
    """(holdings, carried ports, pending ports, pending boot id) of the managed files."""
    holdings = _owners.Holdings()
    carried, pending, pending_boot_id = set(), set(), None
    for managed in files:
        if managed.trust == 'unsealed':
            warnings.append('%s; its ports %s stay reserved and are never released by this module (they are '
                            'treated as another file\'s); run once with mode: exact to take the key over, or remove '
                            'the file' % (managed.problem, _ports.format_ports(managed.reserved) or '(none)'))
            carried.update(managed.reserved)
            continue
        if managed.trust == 'legacy' and managed.holdings.owners:
            warnings.append('%s was written by portguard.ephemeral 0.2.0: from the first run of this version on, its '
                            'reserved ports %s are held by owner "%s" (nothing is released); see "Upgrading from '
                            '0.2.0" in the module documentation'
                            % (managed.path, _ports.format_ports(managed.holdings.claimed()), _owners.UNNAMED))
        part = managed.holdings
        if managed.pending and managed.boot_id and boot_id and managed.boot_id != boot_id:
            # Written by a live: false run in an earlier boot: the boot applied it, so its live ports are ours.
            part = _owners.Holdings(part.owners, part.owned | (managed.pending & live_reserved), part.dropped)
        elif managed.pending:
            pending.update(managed.pending)
            pending_boot_id = managed.boot_id
        holdings = holdings.merged(part)
    return holdings, frozenset(carried), frozenset(pending), pending_boot_id


def _from_record(state, identity, boot_id, warnings):
    if state is None:
        return _ns_records.Record()
    try:
        record = _ns_records.read(state, identity, boot_id)
    except StateError as exc:
        raise TaskError(str(exc))
    if record.trust == 'unsealed':
        warnings.append('%s; its ports count as foreign (never released by this module); the record is replaced '
                        'on this run' % record.problem)
    elif record.trust == 'legacy' and record.holdings.owners:
        warnings.append('the ownership record %s was written by portguard.ephemeral 0.2.0: from the first run of '
                        'this version on, its ports %s are held by owner "%s"'
                        % (state.full(_ns_records.record_name(identity)),
                           _ports.format_ports(record.holdings.claimed()), _owners.UNNAMED))
    return record


def _from_journal(state, identity, boot_id, live, warnings):
    """The Recovery of an interrupted run in this namespace, or None."""
    if state is None:
        return None
    name = _ns_records.intent_name(identity)
    try:
        text = state.read(name)
    except StateError as exc:
        raise TaskError(str(exc))
    entry, problem = _journal.parse(text, identity, boot_id, state.full(name))
    if problem:
        warnings.append('ignored the journal of an interrupted run, %s: %s' % (state.full(name), problem))
    if entry is None:
        return None
    recovery = _journal.recover(entry, live)
    warnings.append('a run of local_ports was interrupted (pid %s, started %s); the next run that changes this '
                    'namespace finishes it: owners and ownership as that run meant to leave them%s'
                    % (entry.pid, entry.started, ', and foreign ports it meant to keep reserved again: %s'
                       % _ports.format_ports(recovery.restore) if recovery.restore else ''))
    return recovery


def read(files, state, identity, boot_id, live, warnings):
    """Found: the holdings of ``files`` (ManagedFile list), this namespace's record, and its journal."""
    file_holdings, carried, pending, pending_boot_id = _from_files(files, live.reserved, boot_id, warnings)
    record = _from_record(state, identity, boot_id, warnings)
    recovery = _from_journal(state, identity, boot_id, live, warnings)
    holdings = file_holdings.merged(record.holdings if record.trust in ('sealed', 'legacy') else _owners.Holdings())
    file_owners = frozenset(file_holdings.owners)
    if recovery is not None:
        holdings, file_owners = recovery.holdings, recovery.entry.persisted_owners
    return Found(holdings=holdings, file_owners=file_owners, record=record, carried=carried, pending=pending,
                 pending_boot_id=pending_boot_id, recovery=recovery)


def split(holdings, file_owners):
    """(the managed file's part, the record's part) of ``holdings``."""
    names = frozenset(holdings.owners) | frozenset(holdings.dropped)
    return holdings.only(names & file_owners), holdings.only(names - file_owners)
