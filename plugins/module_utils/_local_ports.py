# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The work behind portguard.ephemeral.local_ports, without AnsibleModule.

Order of a run: validate every option, enter the namespace, take the locks
(the namespace's, then the persisted file's, under /run/portguard-ephemeral),
read the live values, the persisted file and any managed file it replaces,
plan, check which file wins at boot, and only then write: live first
(verified, restored on failure), then the file (atomic), then remove replaced
files, then the ownership record.  A failing step undoes every earlier one;
the locks are held until the end, so concurrent runs never interleave.

Ownership rules (also in the module documentation):
- A port is ours when this module put it into the live set while nobody else
  had it reserved.  A port someone else reserved stays theirs, in merge and in
  exact mode, even when a run asks for it too.
- live: false changes no ownership; the ports its file adds are "pending" and
  become ours only when a later boot has applied the file.
- Other sysctl files' ports (merge mode) are carried in our file, which hides
  them at boot; they are reserved live, reported, and stay foreign.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import os

from ansible_collections.portguard.ephemeral.plugins.module_utils import (
    _local_ports_info,
    _plan,
    _ports,
    _pressure,
    _processes,
    _runstate,
    _sockets,
    _sysctl,
    _sysctld,
)
from ansible_collections.portguard.ephemeral.plugins.module_utils._task import TaskError

DEFAULT_PATH = _sysctld.DEFAULT_PATH
DEFAULT_MIN_EPHEMERAL = _plan.DEFAULT_MIN_EPHEMERAL
RUN_STATE_DIR = _runstate.DEFAULT_DIR
DEFAULT_LOCK_TIMEOUT = 60
DEFAULT_MIN_FREE_PER_DESTINATION = _pressure.DEFAULT_MIN_FREE


def _live_text(port_range, reserved):
    return '%s = %s\n%s = %s\n' % (
        _sysctl.RANGE_KEY, _ports.format_range(port_range, ' '),
        _sysctl.RESERVED_KEY, _ports.format_ports(reserved))


def _is_ours(entry, own_path):
    """An entry read from our file, directly or through a link (99-sysctl.conf -> ../sysctl.conf)."""
    return own_path in (entry['file'], entry['via']) or os.path.realpath(own_path) == entry['via']


def _declared_elsewhere(boot, own_path, warnings):
    """Reserved ports other sysctl files set, which our file would hide at boot."""
    ports = set()
    for entry in boot[_sysctl.RESERVED_KEY]['entries']:
        if _is_ours(entry, own_path):
            continue
        try:
            ports.update(_ports.parse_kernel_string(entry['value'], '%s line %d' % (entry['file'], entry['line'])))
        except _ports.PortSpecError as exc:
            warnings.append('ignored an invalid value the kernel would reject at boot: %s' % exc)
    return frozenset(ports)


def _override_problems(boot, keys, path):
    problems = []
    for key in keys:
        winner = boot[key]['winner']
        if winner is None or not _is_ours(winner, path):
            if winner is None:
                problems.append('%s would not be set at boot by %s' % (key, path))
            else:
                where = winner['file']
                if winner.get('via'):
                    where = '%s (a link to %s)' % (winner['file'], winner['via'])
                problems.append('%s line %d sets %s = %s and is applied after %s at boot, so it wins; '
                                'remove that line, or give path a name that sorts later'
                                % (where, winner['line'], key, _short(winner['value']), path))
    return problems


def _real_file(entry):
    return entry.get('via') or entry['file']


def _sysctl_system_problems(boot, keys, path, root, new_text, unprivileged_port_start):
    """Lines that a procps ``sysctl --system`` run applies after ours: the same rule as at boot.

    That command applies /etc/sysctl.conf again after every sysctl.d file (even
    when 99-sysctl.conf links to it), so an admin's line there beats our file
    whenever anyone runs it.  A line already reported for boot is not repeated.
    """
    def accepts(key, value):
        return _local_ports_info.kernel_accepts(key, value, unprivileged_port_start)

    system = _sysctld.sysctl_system_config(keys, root, replace=(path, new_text), accepts=accepts)
    problems = []
    for key in keys:
        winner = system[key]['winner']
        if winner is None or _is_ours(winner, path):
            continue
        at_boot = boot[key]['winner']
        if at_boot is not None and (_real_file(at_boot), at_boot['line']) == (_real_file(winner), winner['line']):
            continue
        if winner['file'] == _sysctld.SYSCTL_CONF:
            why = ('procps "sysctl --system" applies %s last, after every sysctl.d file and even when '
                   '99-sysctl.conf links to it, so that line wins whenever anyone runs "sysctl --system"; '
                   'remove the line from %s' % (winner['file'], winner['file']))
        else:
            why = ('procps "sysctl --system" applies it after %s, so it wins whenever anyone runs '
                   '"sysctl --system"; remove that line' % path)
        problems.append('%s line %d sets %s = %s: %s'
                        % (winner['file'], winner['line'], key, _short(winner['value']), why))
    return problems


def _short(value, limit=60):
    return value if len(value) <= limit else value[:limit] + '...'


def parse_options(params):
    """Validate every option; raise TaskError naming the option and value."""
    live = params.get('live', True)
    live = True if live is None else live
    netns = params.get('netns')
    if netns is not None and not str(netns).strip():
        raise TaskError('netns: %r is empty; omit netns to work on the namespace the task runs in, or give '
                        'the namespace path (/run/netns/NAME or /proc/PID/ns/net); nothing was changed'
                        % (netns,), option='netns')
    if netns is not None and not os.path.isabs(netns):
        raise TaskError('netns: %r is not an absolute path; give /run/netns/NAME or /proc/PID/ns/net; '
                        'nothing was changed' % (netns,), option='netns')
    raw_path = params.get('path')
    if raw_path is not None and not str(raw_path).strip():
        raise TaskError('path: %r is empty; omit path to use the default %s, or give a full path; '
                        'nothing was changed' % (raw_path, DEFAULT_PATH), option='path')
    persist = params.get('persist')
    if persist is None:
        persist = netns is None
    if netns and persist:
        raise TaskError('netns: %s is live only: a sysctl.d file configures the host namespace, not %s; '
                        'set persist: false (the namespace owner applies its own values at its start)'
                        % (netns, netns))
    if not live and not persist:
        raise TaskError('live and persist are both false: there is nothing to do; enable at least one')
    try:
        reserved = params.get('reserved')
        desired_reserved = None if reserved is None else _ports.parse_ports(reserved, 'reserved')
        mode = params.get('mode') or 'merge'
        if reserved is None and mode == 'exact':
            raise TaskError('mode: exact needs reserved (give [] to clear every reservation)')
        examine = params.get('examine')
        examine = None if examine is None else _ports.parse_ports(examine, 'examine')
        min_ports = params.get('min_ephemeral')
        if min_ports is None:
            min_ports = DEFAULT_MIN_EPHEMERAL
        if min_ports < 0 or min_ports > 65535:
            raise TaskError('min_ephemeral: %r is outside 0-65535' % (min_ports,))
    except _ports.PortSpecError as exc:
        raise TaskError(str(exc), option=exc.option)
    lock_timeout = params.get('lock_timeout')
    if lock_timeout is None:
        lock_timeout = DEFAULT_LOCK_TIMEOUT
    if lock_timeout < 0:
        raise TaskError('lock_timeout: %r is negative; give the seconds to wait for another run' % (lock_timeout,),
                        option='lock_timeout')
    path = raw_path or DEFAULT_PATH
    if persist and not os.path.isabs(path):
        raise TaskError('path: %r is not absolute; give a full path such as %s' % (path, DEFAULT_PATH))
    opts = {
        'reserved': desired_reserved, 'range': params.get('range'), 'mode': mode, 'live': live,
        'persist': persist, 'path': os.path.normpath(path) if persist else None, 'netns': netns,
        'on_override': params.get('on_override') or 'fail', 'min_ephemeral': min_ports,
        'examine': examine, 'lock_timeout': lock_timeout,
    }
    opts.update(_pressure.parse_apply_options(params))  # min_free_per_destination, on_pressure (issue 24)
    return opts


def _holder_info(opts, identity):
    what = ['portguard.ephemeral.local_ports', 'mode=%s' % opts['mode']]
    if opts['reserved'] is not None:
        what.append('reserved=%s' % _short(_ports.format_ports(opts['reserved']), 40))
    if opts['range'] is not None:
        what.append('range=%s' % (opts['range'],))
    return {'task': ' '.join(what), 'netns': identity.get('link'), 'path': opts['path']}


def _refuse_links(path, root):
    """The persisted file is never written through a symbolic link (a dangling one included)."""
    full = _sysctld.under_root(root, path)
    if os.path.islink(full):
        try:
            target = os.readlink(full)
        except OSError:
            target = '?'
        raise TaskError('path: %s is a symbolic link (to %s); the module never writes through links. Give the '
                        'real file as path, or remove the link; nothing was changed' % (path, target),
                        option='path')


def _other_managed_files(path, root):
    """Files this module wrote under another name (path was changed): [(path, read_managed info)].

    Regular files in the sysctl.d directories whose first line is our header;
    links are never taken (99-sysctl.conf -> ../sysctl.conf is not ours).
    """
    found = []
    own_real = os.path.realpath(_sysctld.under_root(root, path))
    seen = set()
    for directory in _sysctld.PROCPS_DIRS:
        full_dir = _sysctld.under_root(root, directory)
        if os.path.islink(full_dir) or not os.path.isdir(full_dir):
            continue
        try:
            names = sorted(os.listdir(full_dir))
        except OSError:
            continue
        for name in names:
            if not name.endswith('.conf'):
                continue
            other = os.path.join(directory, name)
            full = os.path.join(full_dir, name)
            if os.path.islink(full) or not os.path.isfile(full) or os.path.realpath(full) in (own_real,) \
                    or os.path.realpath(full) in seen:
                continue
            seen.add(os.path.realpath(full))
            info = _sysctld.read_managed(other, root)
            if info['managed']:
                found.append((other, info))
    return found


def _without_files(boot, removed):
    """The boot configuration once ``removed`` files are gone (entries dropped, winner recomputed)."""
    if not removed:
        return boot
    removed = set(removed)
    for key, item in boot.items():
        winner = item['winner']
        item['entries'] = [entry for entry in item['entries'] if entry['file'] not in removed]
        if winner is not None and winner['file'] in removed:
            explicit = [entry for entry in item['entries'] if not entry['glob']]
            globs = [entry for entry in item['entries'] if entry['glob']]
            item['winner'] = explicit[-1] if explicit else (globs[-1] if globs else None)
    return boot


def _file_owned(info, where, live_reserved, current_boot_id, warnings):
    """The ports a managed file records as ours, and its pending ports that the boot made live."""
    owned = set()
    if info.get('owned'):
        try:
            owned.update(_ports.parse_kernel_string(info['owned'], where))
        except _ports.PortSpecError:
            warnings.append('the owned-port record in %s is unreadable; treating every live port as foreign' % where)
    if info.get('pending') and info.get('boot_id') and current_boot_id and info['boot_id'] != current_boot_id:
        # Written by a live: false run in an earlier boot: systemd-sysctl applied it at this boot.
        try:
            owned.update(_ports.parse_kernel_string(info['pending'], where) & live_reserved)
        except _ports.PortSpecError:
            pass
    return owned


def _read_record(state, identity, current_boot_id, warnings):
    """This namespace's ownership record: (owned ports, stale?)."""
    if state is None:
        return frozenset(), False
    name = _runstate.record_name(identity)
    try:
        text = state.read(name)
    except _runstate.StateError as exc:
        raise TaskError(str(exc))
    if text is None:
        return frozenset(), False
    try:
        record = _runstate.parse_record(text)
        if _runstate.record_is_stale(record, identity, current_boot_id):
            return frozenset(), True
        return _ports.parse_kernel_string(record['owned'] + '\n', state.full(name)), False
    except (ValueError, _ports.PortSpecError):
        warnings.append('the ownership record %s is unreadable; treating every live port as foreign'
                        % state.full(name))
        return frozenset(), False


def run(params, check_mode=False, want_diff=False, proc_sys=_sysctl.PROC_SYS, root='/',
        proc_root=_processes.PROC_ROOT, net_directory=None):
    """Do one run of the module; return the result dict or raise TaskError."""
    opts = parse_options(params)
    try:
        if opts['netns']:
            _sysctl.enter_netns(opts['netns'])
        identity = _sysctl.netns_identity()
        identity['path'] = opts['netns']
    except _sysctl.SysctlError as exc:
        raise TaskError(str(exc))
    if opts['path']:
        _refuse_links(opts['path'], root)

    state = _runstate.StateDir(RUN_STATE_DIR)
    locks = None
    try:
        if check_mode:
            # Check mode writes nothing, not even the state directory or a lock file.
            if os.path.isdir(RUN_STATE_DIR) and not os.path.islink(RUN_STATE_DIR):
                try:
                    state.open(create=False)
                except _runstate.StateError:
                    state = None
            else:
                state = None
        else:
            try:
                state.open()
                locks = _runstate.Locks(state, _holder_info(opts, identity), opts['lock_timeout'])
                locks.take(_runstate.netns_lock_name(identity), 'network namespace %s' % identity['link'])
                if opts['path']:
                    locks.take(_runstate.path_lock_name(opts['path']), opts['path'])
            except _runstate.StateError as exc:
                raise TaskError(str(exc))
        return _locked_run(opts, identity, state, locks, check_mode, want_diff, proc_sys, root, proc_root,
                           net_directory)
    finally:
        if locks is not None:
            locks.release()
        if state is not None:
            state.close()


class _State(object):
    """What one run read before planning: live values, the files, what this module owns."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _locked_run(opts, identity, state, locks, check_mode, want_diff, proc_sys, root, proc_root=_processes.PROC_ROOT,
                net_directory=None):
    """read -> plan -> persisted file and boot check -> result -> examine -> commit, under the locks."""
    warnings = []
    now = _read(opts, identity, state, locks, check_mode, proc_sys, root, warnings)
    planned = _plan_run(opts, now, warnings)
    persisted = _persisted(opts, now, planned, check_mode, root, warnings)
    result = _result(opts, identity, now, planned, persisted, warnings)
    if want_diff:
        result['diff'] = _diff(opts, identity, now, planned, persisted)
    plan = planned.plan
    # Ephemeral pressure per destination (issue 24): before anything is written; TaskError on on_pressure=fail.
    before = (plan.range_before, plan.reserved_before)
    after = (plan.range_after, plan.reserved_after) if opts['live'] else before
    pressure = _pressure.for_apply(opts, before, after, warnings, net_directory)
    if pressure is not None:
        result['pressure'] = pressure
    if opts['examine'] is not None:
        # Sockets are not touched by the sysctls: read them once, before any write, and
        # judge them against the values this run leaves (or would leave, in check mode).
        leaves = _sysctl.LiveState(plan.range_after, plan.reserved_after) if opts['live'] else now.live
        result.update(_examine(opts['examine'], leaves, now.live,
                               persisted.boot_after if now.path and not opts['netns'] else None, identity['link'],
                               proc_root, net_directory))
    if check_mode:
        return result
    write_record = opts['live'] and opts['reserved'] is not None
    _commit(opts, now.live, _sysctl.LiveState(plan.range_after, plan.reserved_after), result['live_changed'],
            now.path, now.managed, persisted.new_text if persisted.file_changed else None, now.others,
            state, identity, now.boot_id, planned.owned_after if write_record else None, now.record_stale,
            proc_sys, root)
    return result


def _read(opts, identity, state, locks, check_mode, proc_sys, root, warnings):
    """Live values, the persisted file and earlier managed files, and the ports this module owns."""
    current_boot_id = _runstate.boot_id()
    try:
        live = _sysctl.read_live(proc_sys)
    except _sysctl.SysctlError as exc:
        raise TaskError('%s; nothing was changed' % exc)
    desired_range = None
    if opts['range'] is not None:
        try:
            desired_range = _ports.parse_range(opts['range'], 'range', live.unprivileged_port_start)
        except _ports.PortSpecError as exc:
            raise TaskError(str(exc), option='range')
    path = opts['path']
    managed, others = _read_files(path, locks, root)
    if state is not None and not check_mode:
        _runstate.cleanup(state, identity, current_boot_id, _runstate.live_namespaces())
    record_owned, record_stale = _read_record(state, identity, current_boot_id, warnings)
    owned_before = set(record_owned)
    if path:
        owned_before.update(_file_owned(managed, path, live.reserved, current_boot_id, warnings))
        for other, info in others:
            owned_before.update(_file_owned(info, other, live.reserved, current_boot_id, warnings))
    if identity.get('cookie') is None and not opts['persist'] and opts['reserved'] is not None:
        warnings.append(
            'this kernel has no network namespace cookie (SO_NETNS_COOKIE, Linux 5.14 and later): the record of '
            'the ports this module owns in %s is kept under the namespace\'s inode, which the kernel reuses once '
            'the namespace is gone. Records of namespaces that no longer exist are removed on every run; a '
            'namespace created with the same inode before the next run would inherit the record'
            % identity['link'])
    removed = [other for other, _info in others]
    keys = list(_sysctl.KEYS) if path else []
    boot_before = _without_files(_sysctld.boot_config(keys, root), removed) if path else {}
    return _State(boot_id=current_boot_id, live=live, desired_range=desired_range, path=path, managed=managed,
                  others=others, removed=removed, owned_before=frozenset(owned_before), record_stale=record_stale,
                  keys=keys, boot_before=boot_before)


def _read_files(path, locks, root):
    """(our managed file, [(path, info)] of managed files at earlier paths), those locked too."""
    managed = {'exists': False, 'managed': False, 'text': '', 'values': {}, 'owned': None}
    if not path:
        return managed, []
    managed = _sysctld.read_managed(path, root)
    if managed['exists'] and not managed['managed']:
        raise TaskError('path: %s exists and was not written by this module; it is never overwritten. '
                        'Choose another path, or move its settings elsewhere and remove it' % path)
    others = _other_managed_files(path, root)
    if locks is not None:
        try:
            for other, _info in sorted(others):
                locks.take(_runstate.path_lock_name(other), other)
        except _runstate.StateError as exc:
            raise TaskError(str(exc))
        others = _other_managed_files(path, root)
        managed = _sysctld.read_managed(path, root)
    return managed, others


def _plan_run(opts, now, warnings):
    """The plan, the ports declared by other files, and what this module owns (or has pending) after it."""
    live = now.live
    declared = frozenset()
    if now.path and opts['mode'] == 'merge' and opts['reserved'] is not None:
        declared = _declared_elsewhere(now.boot_before, now.path, warnings)
    try:
        if opts['reserved'] is None:
            # Leave the reservations alone: plan the range only, keep ownership as it is.
            plan = _plan.plan(live.port_range, live.reserved, frozenset(), now.desired_range, 'merge',
                              frozenset(), frozenset(), opts['min_ephemeral'])
            plan.owned_after = now.owned_before & live.reserved
            plan.foreign = live.reserved - plan.owned_after
        else:
            plan = _plan.plan(live.port_range, live.reserved, opts['reserved'], now.desired_range, opts['mode'],
                              now.owned_before, declared, opts['min_ephemeral'])
    except _plan.PlanError as exc:
        raise TaskError('%s; nothing was changed' % exc)
    warnings.extend(plan.warnings)
    newly_declared = declared - live.reserved
    if opts['live'] and newly_declared:
        warnings.append(
            'reserved %s live although this run did not ask for them: other sysctl files declare them for '
            'net.ipv4.ip_local_reserved_ports, and our file hides those lines at boot, so our file carries '
            'them (they stay foreign: never released by this module)' % _ports.format_ports(newly_declared))
    # With live: false nothing changes live, so ownership stays as it is; the ports our
    # file adds are "pending": ours once a boot applies the file (a later boot id), never before.
    pending_boot_id = now.boot_id
    if opts['live']:
        owned_after = plan.owned_after
        pending = frozenset()
    else:
        owned_after = now.owned_before & live.reserved
        pending = plan.owned_after - owned_after - live.reserved
    if opts['reserved'] is None and now.path and now.managed.get('pending'):
        # A run about the range only leaves the pending record as it was.
        try:
            pending = _ports.parse_kernel_string(now.managed['pending'], now.path) - owned_after - live.reserved
            pending_boot_id = now.managed.get('boot_id')
        except _ports.PortSpecError:
            pending = frozenset()
    return _State(plan=plan, declared=declared, owned_after=owned_after, pending=pending,
                  pending_boot_id=pending_boot_id)


def _persisted(opts, now, planned, check_mode, root, warnings):
    """The persisted file's new text (our keys only; a key not given keeps its earlier line) and the boot check."""
    new_text = now.managed['text']
    if not now.path:
        return _State(new_text=new_text, file_changed=False, boot_after={})
    path, plan = now.path, planned.plan
    carried = {}
    for _other, info in now.others:
        carried.update(info['values'])
    carried.update(now.managed['values'])
    values = []
    file_range = carried.get(_sysctl.RANGE_KEY)
    if now.desired_range is not None:
        file_range = _ports.format_range(now.desired_range, ' ')
    if file_range is not None:
        values.append((_sysctl.RANGE_KEY, file_range))
    file_reserved = carried.get(_sysctl.RESERVED_KEY)
    if opts['reserved'] is not None:
        file_reserved = _ports.format_ports(plan.reserved_after)
    if file_reserved is not None:
        values.append((_sysctl.RESERVED_KEY, file_reserved))
    owned_text = _ports.format_ports(planned.owned_after)
    pending_text = _ports.format_ports(planned.pending)
    file_changed = bool(now.removed) or _file_differs(now.managed, values, owned_text, pending_text)
    if file_changed:
        new_text = _sysctld.render(values, owned_text, pending=pending_text,
                                   boot_id=planned.pending_boot_id if planned.pending else None)
    persisted_keys = [key for key, _value in values]
    boot_after = _without_files(_sysctld.boot_config(now.keys, root, replace=(path, new_text)), now.removed)
    problems = []
    is_loaded, reason = _sysctld.loaded_at_boot(path, root)
    if not is_loaded:
        problems.append('%s would not be read at boot: %s' % (path, reason))
    problems.extend(_override_problems(boot_after, persisted_keys, path))
    problems.extend(_sysctl_system_problems(boot_after, persisted_keys, path, root, new_text,
                                            now.live.unprivileged_port_start))
    if problems:
        if opts['on_override'] == 'fail':
            raise TaskError('the persisted value would not win at boot or on "sysctl --system", nothing was '
                            'changed: %s. Set on_override: warn to apply anyway' % '; '.join(problems),
                            boot=_boot_summary(boot_after, now.keys))
        warnings.extend(problems)
    if now.removed:
        warnings.append('path changed: %s replaces the managed file(s) %s, which %s removed; their settings '
                        'and owned ports carry over' % (path, ', '.join(now.removed),
                                                        'would be' if check_mode else 'were'))
    return _State(new_text=new_text, file_changed=file_changed, boot_after=boot_after)


def _result(opts, identity, now, planned, persisted, warnings):
    plan = planned.plan
    after = opts['live']
    live_changed = after and plan.live_changed
    return {
        'changed': bool(live_changed or persisted.file_changed),
        'live_changed': bool(live_changed),
        'file_changed': bool(persisted.file_changed),
        'range': {'before': list(plan.range_before),
                  'after': list(plan.range_after if after else plan.range_before)},
        'reserved': {'before': _ports.port_set(plan.reserved_before),
                     'after': _ports.port_set(plan.reserved_after if after else plan.reserved_before)},
        'added': _ports.port_set(plan.added if after else frozenset()),
        'released': _ports.port_set(plan.released if after else frozenset()),
        'owned': _ports.port_set(planned.owned_after),
        'pending': _ports.port_set(planned.pending),
        'reserved_outside_range': _ports.port_set(_plan.outside_range(
            *((plan.range_after, plan.reserved_after) if after else (plan.range_before, plan.reserved_before)))),
        'foreign': _ports.port_set(plan.foreign),
        'declared_elsewhere': _ports.port_set(planned.declared),
        'ephemeral_ports': {'before': plan.capacity_before,
                            'after': plan.capacity_after if after else plan.capacity_before},
        'boot': _boot_summary(persisted.boot_after, now.keys) if now.path else {},
        'persisted_file': now.path,
        'removed_files': now.removed,
        'netns': identity,
        'warnings': warnings,
    }


def _diff(opts, identity, now, planned, persisted):
    plan = planned.plan
    diff = []
    if opts['live']:
        diff.append({'before_header': 'live (netns %s)' % identity['link'],
                     'after_header': 'live (netns %s)' % identity['link'],
                     'before': _live_text(plan.range_before, plan.reserved_before),
                     'after': _live_text(plan.range_after, plan.reserved_after)})
    if now.path:
        diff.append({'before_header': now.path, 'after_header': now.path,
                     'before': now.managed['text'], 'after': persisted.new_text})
    for other, info in now.others:
        diff.append({'before_header': other, 'after_header': '%s (removed)' % other,
                     'before': info['text'], 'after': ''})
    return diff


def _commit(opts, before, after, live_changed, path, managed, new_text, others, state, identity,
            current_boot_id, record_owned, record_stale, proc_sys, root):
    """Write, in order: live values, the persisted file, removal of replaced files, the ownership record.

    Each step that succeeded is undone, in reverse, when a later one fails, so a
    failed run leaves the kernel and the files as they were; the message names
    the step that failed and what was undone.
    """
    undo = []  # (what was undone, what could not be undone, function)
    step = 'applying the live values'
    try:
        if live_changed:
            try:
                _sysctl.apply(before, after, proc_sys)
            except _sysctl.SysctlError as exc:
                # apply() restores on its own and says so (or says nothing was written).
                raise TaskError(str(exc))
            undo.append(('the live values were restored', 'restoring the live values',
                         functools.partial(_sysctl.apply, after, before, proc_sys)))
        if new_text is not None:
            step = 'writing %s' % path
            full = _sysctld.under_root(root, path)
            if managed['exists']:
                put_back = functools.partial(_sysctld.write_atomic, path, managed['text'], _mode_of(full), root)
                _sysctld.write_atomic(path, new_text, 0o644, root)
                undo.append(('%s was put back' % path, 'putting back %s' % path, put_back))
            else:
                _sysctld.write_atomic(path, new_text, 0o644, root)
                undo.append(('%s was removed again' % path, 'removing %s again' % path,
                             functools.partial(_remove_file, full)))
        for other, info in others:
            step = 'removing the replaced file %s' % other
            full = _sysctld.under_root(root, other)
            mode = _mode_of(full)
            _remove_file(full)
            undo.append(('%s was put back' % other, 'putting back %s' % other,
                         functools.partial(_sysctld.write_atomic, other, info['text'], mode, root)))
        if record_owned is not None and state is not None:
            name = _runstate.record_name(identity)
            step = 'recording the owned ports in %s' % state.full(name)
            if record_owned or record_stale or state.read(name) is not None:
                state.write(name, _runstate.render_record(identity, _ports.format_ports(record_owned),
                                                          current_boot_id))
    except TaskError:
        raise
    except (IOError, OSError, _runstate.StateError) as exc:
        raise TaskError(_undo('%s failed: %s' % (step, exc), undo))


def _undo(message, undo):
    """Run the ``undo`` steps of _commit in reverse; return ``message`` with what was (or could not be) undone."""
    done, failed = [], []
    for what, attempt, function in reversed(undo):
        try:
            function()
            done.append(what)
        except (IOError, OSError, _sysctl.SysctlError) as undo_exc:
            failed.append('%s failed: %s' % (attempt, undo_exc))
    if failed:
        message += '. UNDO FAILED, check the host by hand: %s' % '; '.join(failed)
        if done:
            message += ' (undone: %s)' % ', '.join(done)
    elif done:
        message += '; everything this run changed was undone: %s' % ', '.join(done)
    else:
        message += '; nothing was changed'
    return message


def _mode_of(full):
    try:
        return os.lstat(full).st_mode & 0o7777
    except OSError:
        return 0o644


def _remove_file(full):
    os.unlink(full)


def _examine(ports, state, live, boot, netns_link, proc_root=_processes.PROC_ROOT, net_directory=None):
    """The ports as local_ports_info reports them, judged against the state this run left.

    Saves the role a second module round trip per host.  ``boot`` is the boot
    configuration after this run (None when the namespace is not configured by
    the files, as with netns).  Returns the result keys ``ports``,
    ``unreserved_listeners`` (listeners inside the range this run leaves, on
    ports it does not reserve), ``unreserved_listener_count`` and
    ``process_scan``.
    """
    state = _sysctl.LiveState(state.port_range, state.reserved, live.unprivileged_port_start)
    boot_range = boot_reserved = None
    if boot is not None:
        boot_range, boot_reserved = _local_ports_info.KERNEL_DEFAULT_RANGE, _local_ports_info.KERNEL_DEFAULT_RESERVED
        winner = boot[_sysctl.RANGE_KEY]['winner']
        if winner is not None:
            try:
                boot_range = _ports.parse_range(winner['value'], 'boot', live.unprivileged_port_start)
            except _ports.PortSpecError:
                pass
        winner = boot[_sysctl.RESERVED_KEY]['winner']
        if winner is not None:
            try:
                boot_reserved = _ports.parse_kernel_string(winner['value'], 'boot')
            except _ports.PortSpecError:
                pass
    try:
        sockets = _sockets.read_sockets(ports, net_directory, listening_filter=_local_ports_info.exposed_filter(state))
    except (ValueError, IOError, OSError) as exc:
        raise TaskError('reading the socket tables to examine ports failed: %s; nothing was changed '
                        '(ports are examined before anything is written)' % exc)
    entries = [_local_ports_info.judge(port, state, sockets, boot_range, boot_reserved) for port in sorted(ports)]
    unreserved, count = _local_ports_info.unreserved_listeners(sockets, state)
    scan = _local_ports_info.name_processes(entries, unreserved, netns_link, proc_root)
    return {'ports': entries, 'unreserved_listeners': unreserved, 'unreserved_listener_count': count,
            'process_scan': scan}


def _file_differs(managed, values, owned_text, pending_text=''):
    """Compare the persisted file by meaning: numbers and port sets, not text."""
    if not managed['exists'] or not managed['managed']:
        return True
    current = managed['values']
    if (managed.get('pending') or '') != pending_text:
        return True
    if (current == dict(values) and (managed['owned'] or '') == owned_text):
        return False  # the same canonical text: no need to build port sets
    if set(current) != set(key for key, _value in values):
        return True
    for key, value in values:
        try:
            if key == _sysctl.RANGE_KEY:
                if tuple(int(x) for x in current[key].split()) != tuple(int(x) for x in value.split()):
                    return True
            elif _ports.parse_kernel_string(current[key]) != _ports.parse_kernel_string(value):
                return True
        except (ValueError, _ports.PortSpecError):
            return True
    try:
        return _ports.parse_kernel_string(managed['owned'] or '') != _ports.parse_kernel_string(owned_text)
    except _ports.PortSpecError:
        return True


def _boot_summary(boot, keys):
    summary = {}
    for key in keys:
        winner = boot.get(key, {}).get('winner')
        summary[key] = None if winner is None else {
            'file': winner['file'], 'line': winner['line'], 'value': winner['value']}
    return summary
