# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The journal of a run under way: its intent, sealed and written before the first change, so the next run finishes it.

Private to the collection; standard library only.

A run that is killed between its writes (a long reservation list takes
several ``write()`` calls, and the files and records come after) would leave
the next run unable to tell its own ports from foreign ones.  So before the
first write a run records, per namespace, what it found and what it is about
to leave (``intent-netns-*`` in the state directory); it removes the entry
after its last write.  The next run that finds an entry finishes that run's
intent: the owners and ownership it meant to leave are taken as the truth,
foreign ports it meant to keep and that are missing now are reserved again,
and ports it meant to release are released.  An entry from another boot is
dropped (the boot applied the persisted file, which is written atomically).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ns_records, _owners, _ports


class Entry(object):
    """What a run found (``before``) and meant to leave (``after``): (range, reserved) pairs; ``holdings`` after
    the run (every owner), the names of the owners whose ports the managed file keeps, and who wrote it."""

    __slots__ = ('before', 'after', 'holdings', 'persisted_owners', 'pid', 'started')

    def __init__(self, before, after, holdings, persisted_owners, pid=None, started=None):
        self.before = (tuple(before[0]), frozenset(before[1]))
        self.after = (tuple(after[0]), frozenset(after[1]))
        self.holdings = holdings
        self.persisted_owners = frozenset(persisted_owners)
        self.pid = os.getpid() if pid is None else pid
        self.started = started or time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def render(identity, boot_id, entry):
    state = _owners.to_state(
        entry.holdings, boot_id=boot_id, inode=identity['inode'], dev=identity['dev'], cookie=identity.get('cookie'),
        pid=entry.pid, started=entry.started, persisted_owners=sorted(entry.persisted_owners),
        before={'range': list(entry.before[0]), 'reserved': _ports.format_ports(entry.before[1])},
        after={'range': list(entry.after[0]), 'reserved': _ports.format_ports(entry.after[1])})
    return _owners.dump(state, _ns_records.binding(identity, boot_id)) + '\n'


def parse(text, identity, boot_id, where):
    """(Entry or None, problem or None): None without a problem when there is none or it is from another boot."""
    if text is None:
        return None, None
    try:
        if _ns_records.is_stale(_ns_records.parse_fields(text), identity, boot_id):
            return None, None
        state = _owners.load(text, _ns_records.binding(identity, boot_id), where)
        holdings = _owners.from_state(state, where)

        def pair(item):
            return (tuple(int(x) for x in item['range']), _ports.parse_kernel_string(item['reserved'] + '\n', where))
        return Entry(pair(state['before']), pair(state['after']), holdings, state['persisted_owners'],
                     state['pid'], state['started']), None
    except (ValueError, KeyError, TypeError, _ports.PortSpecError) as exc:
        return None, str(exc)


class Recovery(object):
    """How the next run finishes an interrupted one: the ``holdings`` to start from (ownership as meant, plus the
    ports meant to be released), the foreign ports to reserve again (``restore``), and the range still to set."""

    __slots__ = ('entry', 'holdings', 'restore', 'port_range')

    def __init__(self, entry, holdings, restore, port_range):
        self.entry, self.holdings, self.restore, self.port_range = entry, holdings, restore, port_range


def recover(entry, live):
    """Finish ``entry`` from the live values found now (a LiveState)."""
    before_range, before_reserved = entry.before
    after_range, after_reserved = entry.after
    # Meant to be released and still live: ours to release now (a port meant to be kept is not among them).
    to_release = live.reserved & (before_reserved - after_reserved)
    holdings = _owners.Holdings(entry.holdings.owners, entry.holdings.owned | to_release, entry.holdings.dropped)
    # Foreign ports the run meant to keep: a write cut short may have lost them.
    restore = (after_reserved - entry.holdings.owned) - live.reserved
    port_range = after_range if live.port_range == before_range and after_range != before_range else None
    return Recovery(entry, holdings, frozenset(restore), port_range)
