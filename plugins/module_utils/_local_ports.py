# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The apply behind portguard.ephemeral.local_ports: options, locks, read, plan, boot check, examine, commit.

Order of a run: validate every option, enter the namespace, take the locks
(the namespace's, then the persisted file's, under /run/portguard-ephemeral),
read the live values and who holds which ports (the managed files, the
namespace's record, an interrupted run's journal: _stores), plan owner by
owner (_plan), check which file wins at boot, and only then write: the journal
first, then live (verified, restored on failure; a set that only grows is ORed
in), the file (atomic), removal of replaced files, the record, and last the
journal's removal.  A failing step undoes every earlier one; the locks are
held until the end, so concurrent runs never interleave; a run killed between
its writes is finished by the next one.

Ownership rules (also in the module documentation):
- Every call has an owner (``owner``, or ``unnamed`` for calls without one,
  which only add ports).  A port stays reserved while any owner holds it.
- A port is ours when this module put it into the live set while nobody else
  had it reserved.  A port someone else reserved stays theirs, in merge and in
  exact mode, even when a run asks for it too.
- Owners whose runs persist are kept in the managed file with their ports;
  live-only owners in the namespace's record.  The file persists its owners'
  ports and the ports other sysctl files declare (it hides their lines at boot);
  ports others reserved only live stay reserved live and are not persisted.
- live: false changes no ownership; the ports its file adds are "pending" and
  become ours only when a later boot has applied the file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.portguard.ephemeral.plugins.module_utils import (
    _apply_steps,
    _boot_check,
    _commit,
    _examine,
    _journal,
    _kernel,
    _managed_file,
    _netns,
    _ns_records,
    _owners,
    _plan,
    _ports,
    _pressure,
    _processes,
    _state_dir,
)
from ansible_collections.portguard.ephemeral.plugins.module_utils._options import Options, absolute_path
from ansible_collections.portguard.ephemeral.plugins.module_utils._task import TaskError

RUN_STATE_DIR = _state_dir.DEFAULT_DIR
ARGUMENT_SPEC = dict(
    reserved=dict(type='raw'),
    range=dict(type='raw'),
    mode=dict(type='str', default='merge', choices=['merge', 'exact']),
    live=dict(type='bool', default=True),
    persist=dict(type='bool'),
    path=dict(type='path', default=_managed_file.DEFAULT_PATH),
    on_override=dict(type='str', default='fail', choices=['fail', 'warn']),
    min_ephemeral=dict(type='int', default=_plan.DEFAULT_MIN_EPHEMERAL, aliases=['min_ephemeral_ports'],
                       deprecated_aliases=[dict(name='min_ephemeral_ports', version='1.0.0',
                                                collection_name='portguard.ephemeral')]),
    netns=dict(type='path'),
    examine=dict(type='raw'),
    lock_timeout=dict(type='int', default=60),
    owner=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    min_free_per_destination=dict(type='int', default=_pressure.DEFAULT_MIN_FREE),
    on_pressure=dict(type='str', default='fail', choices=['fail', 'warn']),
)
NETNS_HINT = 'omit netns to work on the namespace the task runs in, or give /run/netns/NAME or /proc/PID/ns/net'


# --------------------------------------------------------------------------- options

def parse_options(params):
    """Validate every option; raise TaskError naming the option and value."""
    opts = Options(ARGUMENT_SPEC, params)
    absolute_path(opts.netns, 'netns', NETNS_HINT)
    absolute_path(opts.path, 'path', 'omit path to use the default %s, or give a full path' % _managed_file.DEFAULT_PATH)
    if opts.persist is None:
        opts.persist = opts.netns is None
    if opts.netns and opts.persist:
        raise TaskError('netns: %s is live only: a sysctl.d file configures the host namespace, not %s; '
                        'set persist: false (the namespace owner applies its own values at its start)'
                        % (opts.netns, opts.netns))
    if not opts.live and not opts.persist:
        raise TaskError('live and persist are both false: there is nothing to do; enable at least one')
    try:
        opts.reserved = None if opts.reserved is None else _ports.parse_ports(opts.reserved, 'reserved')
        opts.examine = None if opts.examine is None else _ports.parse_ports(opts.examine, 'examine')
    except _ports.PortSpecError as exc:
        raise TaskError(str(exc), option=exc.option)
    if opts.reserved is None and opts.mode == 'exact':
        raise TaskError('mode: exact needs reserved (give [] to clear every reservation)')
    _parse_owner(opts)
    _pressure.check_options(min_free_per_destination=opts.min_free_per_destination)
    if opts.min_ephemeral < 0 or opts.min_ephemeral > 65535:
        raise TaskError('min_ephemeral: %r is outside 0-65535' % (opts.min_ephemeral,))
    if opts.lock_timeout < 0:
        raise TaskError('lock_timeout: %r is negative; give the seconds to wait for another run' % (opts.lock_timeout,),
                        option='lock_timeout')
    if opts.persist:
        refused = _managed_file.check_path(opts.path)
        if refused:
            raise TaskError(refused, option='path')
        opts.path = os.path.normpath(opts.path)
    else:
        opts.path = None
    return opts


def _parse_owner(opts):
    """owner (None: the owner of calls without a name, which only adds) and state."""
    opts.additive = opts.owner is None
    if opts.owner is None:
        opts.owner = _owners.UNNAMED
    else:
        refused = _owners.check_name(opts.owner)
        if refused:
            raise TaskError('%s; nothing was changed' % refused, option='owner')
    if opts.state == 'absent':
        if opts.reserved is None:
            raise TaskError('state: absent needs reserved, the ports this owner (%s) releases; nothing was changed'
                            % opts.owner, option='state')
        if opts.mode == 'exact':
            raise TaskError('state: absent and mode: exact do not go together: exact sets the whole key; use '
                            'mode: merge to release ports; nothing was changed', option='state')


def _holder_info(opts, identity):
    what = ['portguard.ephemeral.local_ports', 'owner=%s' % opts.owner, 'mode=%s' % opts.mode]
    if opts.reserved is not None:
        what.append('reserved=%s' % _boot_check.short(_ports.format_ports(opts.reserved), 40))
    if opts.range is not None:
        what.append('range=%s' % (opts.range,))
    return {'task': ' '.join(what), 'netns': identity.get('link'), 'path': opts.path}


# --------------------------------------------------------------------------- the run

class Context(object):
    """Where one run works: its options, namespace, state directory and locks, and the paths it reads."""

    __slots__ = ('opts', 'namespace', 'state', 'locks', 'check_mode', 'want_diff', 'proc_sys', 'root', 'proc_root',
                 'net_directory')

    def __init__(self, opts, **fields):
        self.opts = opts
        self.state = self.locks = None
        for name in self.__slots__[1:]:
            if name in fields:
                setattr(self, name, fields[name])


def run(params, check_mode=False, want_diff=False, proc_sys=_kernel.PROC_SYS, root='/',
        proc_root=_processes.PROC_ROOT, net_directory=None):
    """Do one run of the module; return the result dict or raise TaskError."""
    opts = parse_options(params)
    try:
        namespace = _netns.enter(opts.netns)
    except _netns.NetnsError as exc:
        raise TaskError(str(exc))
    if opts.path:
        refused = _managed_file.refuse_link(opts.path, root)
        if refused:
            raise TaskError(refused, option='path')
    ctx = Context(opts, namespace=namespace, check_mode=check_mode, want_diff=want_diff, proc_sys=proc_sys,
                  root=root, proc_root=proc_root, net_directory=net_directory)
    try:
        _open_state(ctx)
        return _locked_run(ctx)
    except (IOError, OSError) as exc:
        # Every write is a Transaction step with its own message; what reaches here failed before any write.
        raise TaskError('reading the state of the host failed: %s; nothing was changed' % exc)
    finally:
        if ctx.locks is not None:
            ctx.locks.release()
        if ctx.state is not None:
            ctx.state.close()


def _open_state(ctx):
    """Open the state directory and take the locks; check mode writes nothing, not even a lock file."""
    state = _state_dir.StateDir(RUN_STATE_DIR)
    identity = ctx.namespace.identity
    if ctx.check_mode:
        if os.path.isdir(RUN_STATE_DIR) and not os.path.islink(RUN_STATE_DIR):
            try:
                ctx.state = state.open(create=False)
            except _state_dir.StateError:
                ctx.state = None
        return
    try:
        ctx.state = state.open()
        ctx.locks = _state_dir.Locks(state, _holder_info(ctx.opts, identity), ctx.opts.lock_timeout)
        ctx.locks.take(_state_dir.netns_lock_name(identity), 'network namespace %s' % identity['link'])
        if ctx.opts.path:
            ctx.locks.take(_state_dir.path_lock_name(ctx.opts.path), ctx.opts.path)
    except _state_dir.StateError as exc:
        raise TaskError(str(exc))


def _locked_run(ctx):
    """read -> plan -> persisted file and boot check -> result -> examine -> commit, under the locks."""
    opts = ctx.opts
    warnings = []
    now = _apply_steps.read(ctx, warnings)
    intent = _apply_steps.intent(opts, now, warnings)
    persisted = _apply_steps.persisted(ctx, now, intent, warnings)
    result = _result(opts, ctx.namespace.identity, now, intent, persisted, warnings)
    if ctx.want_diff:
        result['diff'] = _diff(opts, ctx.namespace.identity, now, intent, persisted)
    tables = None
    if opts.examine is not None:
        # Sockets are not touched by the sysctls: read them once, before any write, and
        # judge them against the values this run leaves (or would leave, in check mode).
        leaves = intent.leaves if opts.live else now.live
        later = persisted.view if now.path and ctx.namespace.booted_by_files else None
        try:
            found = _examine.examine(opts.examine, leaves, later, ctx.namespace.link, ctx.proc_root,
                                     ctx.net_directory)
        except (ValueError, IOError, OSError) as exc:
            raise TaskError('reading the socket tables to examine ports failed: %s; nothing was changed '
                            '(ports are examined before anything is written)' % exc)
        result.update(found.result())
        tables = found.sockets.raw
    # Ports left per destination (before anything is written; TaskError when on_pressure=fail refuses).
    plan = intent.plan
    before = (plan.range_before, plan.reserved_before)
    pressure = _pressure.for_apply((opts.examine is not None, opts.min_free_per_destination, opts.on_pressure),
                                   before, (plan.range_after, plan.reserved_after) if opts.live else before,
                                   warnings, tables, ctx.net_directory)
    if pressure is not None:
        result['pressure'] = pressure
    if not ctx.check_mode:
        _write(ctx, now, intent, persisted, result['live_changed'])
    elif opts.live and result['live_changed']:
        refused = _kernel.writable(ctx.proc_sys)
        if refused:
            warnings.append('check mode: the real run would fail: %s' % refused)
    return result


def _result(opts, identity, now, intent, persisted, warnings):
    plan = intent.plan
    after = opts.live
    live_changed = after and plan.live_changed
    left = (plan.range_after, plan.reserved_after) if after else (plan.range_before, plan.reserved_before)
    return {
        'changed': bool(live_changed or persisted.file_changed or _record_changes(now, intent)),
        'live_changed': bool(live_changed),
        'file_changed': bool(persisted.file_changed),
        'range': {'before': list(plan.range_before), 'after': list(left[0])},
        'reserved': {'before': _ports.port_set(plan.reserved_before), 'after': _ports.port_set(left[1])},
        'added': _ports.port_set(plan.added if after else frozenset()),
        'released': _ports.port_set(plan.released if after else frozenset()),
        'owner': opts.owner,
        'owners': _owners.port_sets(intent.holdings),
        'dropped': dict((name, _ports.port_set(ports)) for name, ports in sorted(plan.dropped.items())),
        'owned': _ports.port_set(intent.holdings.owned),
        'pending': _ports.port_set(intent.pending),
        'reserved_outside_range': _ports.port_set(_plan.outside_range(*left)),
        'foreign': _ports.port_set(plan.foreign),
        'declared_elsewhere': _ports.port_set(now.declared),
        'ephemeral_ports': {'before': plan.capacity_before,
                            'after': plan.capacity_after if after else plan.capacity_before},
        'boot': _boot_check.summary(persisted.view, now.keys) if now.path else {},
        'boot_appliers': persisted.view.chain if now.path else [],
        'persisted_file': now.path,
        'removed_files': now.removed,
        'netns': identity,
        'warnings': warnings,
    }


def _live_text(port_range, reserved, holdings):
    lines = ['%s = %s' % (_kernel.RANGE_KEY, _ports.format_range(port_range, ' ')),
             '%s = %s' % (_kernel.RESERVED_KEY, _ports.format_ports(reserved))]
    lines.extend('# owner %s' % line for line in _owners.describe(holdings))
    return '\n'.join(lines) + '\n'


def _diff(opts, identity, now, intent, persisted):
    plan = intent.plan
    diff = []
    if opts.live:
        diff.append({'before_header': 'live (netns %s)' % identity['link'],
                     'after_header': 'live (netns %s)' % identity['link'],
                     'before': _live_text(plan.range_before, plan.reserved_before, plan.holdings_before),
                     'after': _live_text(plan.range_after, plan.reserved_after, intent.holdings)})
    if now.path:
        diff.append({'before_header': now.path, 'after_header': now.path,
                     'before': now.managed.text, 'after': persisted.new_text})
    for other in now.earlier:
        diff.append({'before_header': other.path, 'after_header': '%s (removed)' % other.path,
                     'before': other.text, 'after': ''})
    return diff


def _record_changes(now, intent):
    """Whether the namespace's record must be written: its holdings change, or it is stale, legacy or untrusted."""
    record = now.found.record
    if record is None or (not record.exists and not intent.record_part.owners and not intent.record_part.dropped):
        return False
    return record.trust != 'sealed' or record.holdings != intent.record_part


def _write(ctx, now, intent, persisted, live_changed):
    """Write, in order: the journal, live values, the persisted file, removal of replaced files, the record,
    and the journal's removal."""
    identity = ctx.namespace.identity
    record = _record_changes(now, intent) and ctx.state is not None
    if not (live_changed or persisted.file_changed or now.earlier or record or now.found.recovery):
        return
    journal = _journal.Entry((now.live.port_range, now.live.reserved), (intent.plan.range_after,
                                                                        intent.plan.reserved_after),
                             intent.holdings, frozenset(intent.file_part.owners))
    name = _ns_records.intent_name(identity)
    try:
        ctx.state.write(name, _journal.render(identity, now.boot_id, journal))
    except (IOError, OSError, _state_dir.StateError) as exc:
        raise TaskError('writing the journal %s failed: %s; nothing was changed' % (ctx.state.full(name), exc))
    transaction = _commit.Transaction(ctx.proc_sys, ctx.root)
    try:
        if live_changed:
            transaction.live(now.live, intent.leaves)
        if persisted.file_changed:
            transaction.write_file(now.managed, persisted.new_text)
        for other in now.earlier:
            transaction.remove_file(other)
        if record:
            transaction.write_record(ctx.state, _ns_records.record_name(identity),
                                     _ns_records.render(identity, now.boot_id, intent.record_part))
    except TaskError:
        if not transaction.undo_failed:
            _remove_journal(ctx, name)
        raise
    _remove_journal(ctx, name)


def _remove_journal(ctx, name):
    try:
        ctx.state.remove(name)
    except OSError:
        pass  # the next run finds it and finishes what is already done
