# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The three steps of an apply before anything is written: read what is there, plan it, check the persisted file.

Private to the collection; standard library only.  Each step returns a named
record (Reading, Intent, Persisted) that the next one and the writes
(_local_ports) use; nothing here writes, except the sweep of what killed runs
left behind (temporary files and stale records), under the locks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.ephemeral.plugins.module_utils import (
    _boot_check,
    _boot_rules,
    _kernel,
    _managed_file,
    _ns_records,
    _owners,
    _plan,
    _ports,
    _state_dir,
    _stores,
)
from ansible_collections.portguard.ephemeral.plugins.module_utils._task import TaskError


class Reading(object):
    """What one run read before planning: live values, the managed files, who holds which ports."""

    __slots__ = ('boot_id', 'live', 'desired_range', 'path', 'managed', 'earlier', 'found', 'keys', 'removed',
                 'declared', 'notice')

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields.get(name))


def read(ctx, warnings):
    """Live values, the persisted file and earlier managed files, and who holds which ports."""
    opts = ctx.opts
    current_boot_id = _kernel.boot_id()
    try:
        live = _kernel.read_live(ctx.proc_sys)
    except _kernel.SysctlError as exc:
        raise TaskError('%s; nothing was changed' % exc)
    desired_range = None
    if opts.range is not None:
        try:
            desired_range = _ports.parse_range(opts.range, 'range', live.unprivileged_port_start)
        except _ports.PortSpecError as exc:
            raise TaskError(str(exc), option='range')
    managed, earlier = _read_files(opts.path, ctx.locks, ctx.root)
    identity = ctx.namespace.identity
    if ctx.state is not None and not ctx.check_mode:
        _sweep(ctx, warnings)
    if ctx.namespace.booted_by_files:
        warnings.extend(_boot_check.irregular_warnings(ctx.root))
    files = [managed] + earlier if opts.path else []
    if not opts.path and ctx.namespace.booted_by_files:
        files = _managed_file.earlier_files(None, ctx.root)   # live only: the persisting owners' file, read only
    found = _stores.read(files, ctx.state, identity, current_boot_id, live, warnings)
    if found.recovery is not None and desired_range is None:
        desired_range = found.recovery.port_range
    _check_store(opts, found)
    if identity.get('cookie') is None and not opts.persist and opts.reserved is not None:
        warnings.append(
            'this kernel has no network namespace cookie (SO_NETNS_COOKIE, Linux 5.14 and later): the record of '
            'the ports this module owns in %s is kept under the namespace\'s inode, which the kernel reuses once '
            'the namespace is gone. Records of namespaces that no longer exist are removed on every run; a '
            'namespace created with the same inode before the next run would inherit the record'
            % identity['link'])
    removed = [other.path for other in earlier]
    declared = found.carried
    if opts.path and opts.mode == 'merge' and opts.reserved is not None:
        boot = _boot_rules.boot_config(list(_kernel.KEYS), ctx.root, skip=removed)
        declared = declared | _boot_check.declared_elsewhere(boot, opts.path, warnings)
    notice = found.holdings.dropped.get(opts.owner) if opts.reserved is not None else None
    return Reading(boot_id=current_boot_id, live=live, desired_range=desired_range, path=opts.path, managed=managed,
                   earlier=earlier, found=found, keys=list(_kernel.KEYS) if opts.path else [], removed=removed,
                   declared=declared, notice=notice)


def _sweep(ctx, warnings):
    """Remove what killed runs left: temporary files here and in the sysctl directories, stale records."""
    identity = ctx.namespace.identity
    own = (_ns_records.record_name(identity), _ns_records.intent_name(identity))
    try:
        removed = ctx.state.sweep(own) + _managed_file.sweep(ctx.root)
    except OSError:
        removed = []
    if removed:
        warnings.append('removed temporary files that killed runs left behind: %s' % ', '.join(removed))
    _ns_records.cleanup(ctx.state, identity, _kernel.boot_id(), _ns_records.live_namespaces())


def _check_store(opts, found):
    """A live-only run cannot change what the managed file persists for an owner (or take it, in exact mode)."""
    if opts.persist or opts.reserved is None or not found.file_owners:
        return
    if opts.owner in found.file_owners:
        raise TaskError('owner %s: its ports are persisted in the managed file by an earlier run with persist: true; '
                        'a run with persist: false cannot change them. Use persist: true, or another owner name; '
                        'nothing was changed' % opts.owner, option='owner')
    if opts.mode == 'exact':
        raise TaskError('mode: exact with persist: false cannot take the ports that the managed file persists for '
                        'owners %s; use persist: true, or mode: merge; nothing was changed'
                        % ', '.join(sorted(found.file_owners)), option='mode')


def _read_files(path, locks, root):
    """(our managed file, [managed files at earlier paths]), those locked too."""
    if not path:
        return _managed_file.ManagedFile(None), []
    managed = _managed_file.read(path, root)
    if managed.exists and not managed.managed:
        raise TaskError('path: %s exists and was not written by this module; it is never overwritten. '
                        'Choose another path, or move its settings elsewhere and remove it' % path)
    earlier = _managed_file.earlier_files(path, root)
    if locks is not None:
        try:
            for other in sorted(earlier, key=lambda item: item.path):
                locks.take(_state_dir.path_lock_name(other.path), other.path)
        except _state_dir.StateError as exc:
            raise TaskError(str(exc))
        earlier = _managed_file.earlier_files(path, root)
        managed = _managed_file.read(path, root)
    return managed, earlier


class Intent(object):
    """The plan, the holdings after it split by store, and the pending ports of a live: false run."""

    __slots__ = ('plan', 'holdings', 'file_part', 'record_part', 'pending', 'pending_boot_id')

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields[name])

    @property
    def leaves(self):
        """The live values after the run."""
        return _kernel.LiveState(self.plan.range_after, self.plan.reserved_after)


def intent(opts, now, warnings):
    live = now.live
    found = now.found
    restore = found.recovery.restore if found.recovery is not None else frozenset()
    current = _plan.Current(live.port_range, live.reserved, found.holdings, now.declared, restore)
    request = _plan.Request(opts.reserved, opts.owner, opts.state, opts.mode, opts.additive)
    try:
        plan = _plan.plan(current, request, now.desired_range, opts.min_ephemeral)
    except _plan.PlanError as exc:
        raise TaskError('%s; nothing was changed' % exc)
    warnings.extend(plan.warnings)
    _owner_warnings(opts, now, plan, warnings)
    holdings, pending, pending_boot_id = plan.holdings_after, frozenset(), now.boot_id
    if opts.reserved is None:
        # A run about the range only leaves the pending ports as they were.
        pending, pending_boot_id = found.pending - live.reserved, found.pending_boot_id
    elif not opts.live:
        # Nothing changes live, so ownership stays as it is; the ports our file adds are "pending": ours once
        # a boot applies the file (a later boot id), never before.
        kept = found.holdings.owned & live.reserved & holdings.claimed()
        pending = plan.owned_after - kept - live.reserved
        holdings = _owners.Holdings(holdings.owners, kept, holdings.dropped)
    file_owners = set(found.file_owners)
    if opts.reserved is not None:
        (file_owners.add if opts.persist else file_owners.discard)(opts.owner)
    file_part, record_part = _stores.split(holdings, frozenset(file_owners))
    return Intent(plan=plan, holdings=holdings, file_part=file_part, record_part=record_part, pending=pending,
                  pending_boot_id=pending_boot_id)


def _owner_warnings(opts, now, plan, warnings):
    newly_declared = now.declared - now.live.reserved
    if opts.live and newly_declared and opts.reserved is not None:
        warnings.append(
            'reserved %s live although this run did not ask for them: other sysctl files declare them for '
            'net.ipv4.ip_local_reserved_ports, and our file hides those lines at boot, so our file carries '
            'them (they stay foreign: never released by this module)' % _ports.format_ports(newly_declared))
    if now.notice:
        warnings.append('owner %s: an exact run of owner %s dropped your ports %s since your last run; this run '
                        'reserves what you ask for again'
                        % (opts.owner, now.notice['by'], _ports.format_ports(now.notice['ports'])))
    for name, ports in sorted(plan.dropped.items()):
        warnings.append('mode: exact dropped the ports %s of owner %s (they are released unless another owner or '
                        'another writer holds them; %s hears of it on its next run)'
                        % (_ports.format_ports(ports), name, name))


class Persisted(object):
    """The persisted file's new text, whether it changes, and the Outlook of the files after the run."""

    __slots__ = ('new_text', 'file_changed', 'view')

    def __init__(self, new_text, file_changed, view):
        self.new_text, self.file_changed, self.view = new_text, file_changed, view


def _file_values(opts, now, intent):
    """Our keys' values for the file: a key this run does not set keeps its earlier line."""
    carried = {}
    for other in now.earlier:
        carried.update(other.values)
    carried.update(now.managed.values)
    values = []
    file_range = carried.get(_kernel.RANGE_KEY)
    if now.desired_range is not None:
        file_range = _ports.format_range(now.desired_range, ' ')
    if file_range is not None:
        values.append((_kernel.RANGE_KEY, file_range))
    file_reserved = carried.get(_kernel.RESERVED_KEY)
    if opts.reserved is not None:
        if opts.mode == 'exact':
            ports = intent.plan.reserved_after
        else:
            ports = intent.file_part.claimed() | now.declared
        file_reserved = _ports.format_ports(ports)
    if file_reserved is not None:
        values.append((_kernel.RESERVED_KEY, file_reserved))
    return values


def persisted(ctx, now, intent, warnings):
    """The persisted file's new text (our keys only) and the boot check."""
    opts = ctx.opts
    if not now.path:
        return Persisted(now.managed.text, False, None)
    values = _file_values(opts, now, intent)
    file_changed = bool(now.removed) or _managed_file.differs(now.managed, values, intent.file_part, intent.pending)
    new_text = now.managed.text
    if file_changed:
        new_text = _managed_file.render(values, intent.file_part, intent.pending, intent.pending_boot_id,
                                        carried=now.declared - intent.file_part.claimed())
    view = _boot_check.outlook(ctx.root, now.live.unprivileged_port_start, replace=(now.path, new_text),
                               skip=now.removed)
    problems = _boot_check.persisted_problems(view, [key for key, _value in values], now.path, ctx.root,
                                              skip=now.removed)
    if problems:
        if opts.on_override == 'fail':
            raise TaskError('the persisted value would not hold after a boot or a "sysctl --system" run, nothing '
                            'was changed: %s. Set on_override: warn to apply anyway' % '; '.join(problems),
                            boot=_boot_check.summary(view, now.keys), boot_appliers=view.chain)
        warnings.extend(problems)
    warnings.extend(_boot_check.chain_warnings(view, now.keys))
    if now.removed:
        warnings.append('path changed: %s replaces the managed file(s) %s, which %s removed; their settings '
                        'and owners carry over' % (now.path, ', '.join(now.removed),
                                                   'would be' if ctx.check_mode else 'were'))
    return Persisted(new_text, file_changed, view)
