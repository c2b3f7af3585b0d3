# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The work behind portguard.ephemeral.local_ports, without AnsibleModule.

Order of a run: validate every option, enter the namespace, read the live
values and the persisted file once, plan, check which file wins at boot, and
only then write: live first (verified, restored on failure), then the file
(atomic; on failure the live values are restored too).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.portguard.ephemeral.plugins.module_utils import (
    _local_ports_info,
    _plan,
    _ports,
    _sockets,
    _sysctl,
    _sysctld,
)

DEFAULT_PATH = _sysctld.DEFAULT_PATH
DEFAULT_MIN_EPHEMERAL = _plan.DEFAULT_MIN_EPHEMERAL
RUN_STATE_DIR = '/run/portguard-ephemeral'


class TaskError(Exception):
    """Fail the task with this message; nothing was changed (or it was restored)."""

    def __init__(self, msg, **details):
        super(TaskError, self).__init__(msg)
        self.details = details


def _run_state_path(identity):
    """Per-namespace record of owned ports for live-only runs, keyed by the never-reused cookie."""
    if identity.get('cookie') is None:
        return None
    return os.path.join(RUN_STATE_DIR, 'owned-netns-%d' % identity['cookie'])


def _read_run_state(identity):
    if _run_state_path(identity) is None:
        return frozenset()
    try:
        with open(_run_state_path(identity)) as handle:
            return _ports.parse_kernel_readback(handle.read())
    except (IOError, OSError, ValueError):
        return frozenset()


def _write_run_state(identity, owned):
    path = _run_state_path(identity)
    if path is None or (not owned and not os.path.exists(path)):
        return
    _sysctld.write_atomic(path, _ports.format_ports(owned) + '\n', mode=0o600)


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
    netns = params.get('netns')
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
        min_ports = params.get('min_ephemeral_ports')
        if min_ports is None:
            min_ports = DEFAULT_MIN_EPHEMERAL
        if min_ports < 0 or min_ports > 65535:
            raise TaskError('min_ephemeral_ports: %r is outside 0-65535' % (min_ports,))
    except _ports.PortSpecError as exc:
        raise TaskError(str(exc), option=exc.option)
    path = params.get('path') or DEFAULT_PATH
    if persist and not os.path.isabs(path):
        raise TaskError('path: %r is not absolute; give a full path such as %s' % (path, DEFAULT_PATH))
    return {
        'reserved': desired_reserved, 'range': params.get('range'), 'mode': mode, 'live': live,
        'persist': persist, 'path': path if persist else None, 'netns': netns,
        'on_override': params.get('on_override') or 'fail', 'min_ephemeral_ports': min_ports,
        'examine': examine,
    }


def run(params, check_mode=False, want_diff=False, proc_sys=_sysctl.PROC_SYS, root='/'):
    """Do one run of the module; return the result dict or raise TaskError."""
    opts = parse_options(params)
    warnings = []
    try:
        if opts['netns']:
            _sysctl.enter_netns(opts['netns'])
        identity = _sysctl.netns_identity()
        identity['path'] = opts['netns']
        live = _sysctl.read_live(proc_sys)
    except _sysctl.SysctlError as exc:
        raise TaskError(str(exc))

    desired_range = None
    if opts['range'] is not None:
        try:
            desired_range = _ports.parse_range(opts['range'], 'range', live.unprivileged_port_start)
        except _ports.PortSpecError as exc:
            raise TaskError(str(exc), option='range')

    path = opts['path']
    managed = {'exists': False, 'managed': False, 'text': '', 'values': {}, 'owned': None}
    if path:
        managed = _sysctld.read_managed(path, root)
        if managed['exists'] and not managed['managed']:
            raise TaskError('path: %s exists and was not written by this module; it is never overwritten. '
                            'Choose another path, or move its settings elsewhere and remove it' % path)
    owned_before = set(_read_run_state(identity))
    if managed['owned']:
        try:
            owned_before.update(_ports.parse_kernel_string(managed['owned'], path))
        except _ports.PortSpecError:
            warnings.append('the owned-port record in %s is unreadable; treating every live port as foreign' % path)
    owned_before = frozenset(owned_before)

    keys = []
    if path:
        keys = [_sysctl.RANGE_KEY, _sysctl.RESERVED_KEY]
        boot_before = _sysctld.boot_config(keys, root)
    declared = frozenset()
    if path and opts['mode'] == 'merge' and opts['reserved'] is not None:
        declared = _declared_elsewhere(boot_before, path, warnings)

    try:
        if opts['reserved'] is None:
            plan = _plan.plan(live.port_range, live.reserved, frozenset(), desired_range, 'merge',
                              frozenset(), frozenset(), opts['min_ephemeral_ports'])
            plan.owned_after = owned_before & live.reserved
            plan.foreign = live.reserved - plan.owned_after
        else:
            plan = _plan.plan(live.port_range, live.reserved, opts['reserved'], desired_range, opts['mode'],
                              owned_before, declared, opts['min_ephemeral_ports'])
    except _plan.PlanError as exc:
        raise TaskError(str(exc))
    warnings.extend(plan.warnings)
    if opts['reserved'] is None:
        # Nothing asked about reservations: do not lecture about them, range warnings only.
        warnings[:] = [w for w in warnings if 'reserved port(s) lie outside' not in w]

    # The persisted file: our keys only; a key not given this run keeps its earlier line.
    new_text = managed['text']
    file_changed = False
    boot_after = {}
    if path:
        values = []
        file_range = managed['values'].get(_sysctl.RANGE_KEY)
        if desired_range is not None:
            file_range = _ports.format_range(desired_range, ' ')
        if file_range is not None:
            values.append((_sysctl.RANGE_KEY, file_range))
        file_reserved = managed['values'].get(_sysctl.RESERVED_KEY)
        if opts['reserved'] is not None:
            file_reserved = _ports.format_ports(plan.reserved_after)
        if file_reserved is not None:
            values.append((_sysctl.RESERVED_KEY, file_reserved))
        owned_text = _ports.format_ports(plan.owned_after)
        file_changed = _file_differs(managed, values, owned_text)
        if file_changed:
            new_text = _sysctld.render(values, owned_text)
        persisted_keys = [key for key, _value in values]
        boot_after = _sysctld.boot_config(keys, root, replace=(path, new_text))
        problems = []
        is_loaded, reason = _sysctld.loaded_at_boot(path, root)
        if not is_loaded:
            problems.append('%s would not be read at boot: %s' % (path, reason))
        problems.extend(_override_problems(boot_after, persisted_keys, path))
        problems.extend(_sysctl_system_problems(boot_after, persisted_keys, path, root, new_text,
                                                live.unprivileged_port_start))
        if problems:
            if opts['on_override'] == 'fail':
                raise TaskError('the persisted value would not win at boot or on "sysctl --system", nothing was '
                                'changed: %s. Set on_override: warn to apply anyway' % '; '.join(problems),
                                boot=_boot_summary(boot_after, keys))
            warnings.extend(problems)

    live_changed = opts['live'] and plan.live_changed
    result = {
        'changed': bool(live_changed or file_changed),
        'live_changed': bool(live_changed),
        'file_changed': bool(file_changed),
        'range': {'before': list(plan.range_before),
                  'after': list(plan.range_after if opts['live'] else plan.range_before)},
        'reserved': {'before': _ports.format_ports(plan.reserved_before),
                     'after': _ports.format_ports(plan.reserved_after if opts['live'] else plan.reserved_before)},
        'added': _ports.format_ports(plan.added if opts['live'] else frozenset()),
        'released': _ports.format_ports(plan.released if opts['live'] else frozenset()),
        'owned': _ports.format_ports(plan.owned_after),
        'foreign': _ports.format_ports(plan.foreign),
        'ephemeral_ports': {'before': plan.capacity_before,
                            'after': plan.capacity_after if opts['live'] else plan.capacity_before},
        'boot': _boot_summary(boot_after, keys) if path else {},
        'persisted_file': path,
        'netns': identity,
        'warnings': warnings,
    }
    if want_diff:
        diff = []
        if opts['live']:
            diff.append({'before_header': 'live (netns %s)' % identity['link'],
                         'after_header': 'live (netns %s)' % identity['link'],
                         'before': _live_text(plan.range_before, plan.reserved_before),
                         'after': _live_text(plan.range_after, plan.reserved_after)})
        if path:
            diff.append({'before_header': path, 'after_header': path,
                         'before': managed['text'], 'after': new_text})
        result['diff'] = diff

    if opts['examine'] is not None:
        # Sockets are not touched by the sysctls: read them once, judge them
        # against the values this run leaves (or would leave, in check mode).
        planned = _sysctl.LiveState(plan.range_after, plan.reserved_after) if opts['live'] else live
        result['ports'] = _examine(opts['examine'], planned, live,
                                   boot_after if path and not opts['netns'] else None)

    if check_mode:
        return result

    after_state = _sysctl.LiveState(plan.range_after, plan.reserved_after)
    if live_changed:
        try:
            _sysctl.apply(live, after_state, proc_sys)
        except _sysctl.SysctlError as exc:
            raise TaskError(str(exc))
    if file_changed:
        try:
            _sysctld.write_atomic(path, new_text, 0o644, root)
        except (IOError, OSError) as exc:
            message = 'writing %s failed: %s; nothing was persisted' % (path, exc)
            if live_changed:
                try:
                    _sysctl.apply(after_state, live, proc_sys)
                    message += ' and the live values were restored'
                except _sysctl.SysctlError as restore_exc:
                    message += '; RESTORING THE LIVE VALUES FAILED: %s' % restore_exc
            raise TaskError(message)
    if opts['live'] and opts['reserved'] is not None:
        try:
            _write_run_state(identity, plan.owned_after)
        except (IOError, OSError) as exc:
            result['warnings'].append('could not record owned ports under %s: %s' % (RUN_STATE_DIR, exc))
    return result


def _examine(ports, state, live, boot):
    """The ports as local_ports_info reports them, judged against the state this run left.

    Saves the role a second module round trip per host.  ``boot`` is the boot
    configuration after this run (None when the namespace is not configured by
    the files, as with netns).
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
        sockets = _sockets.read_sockets(ports)
    except (ValueError, IOError, OSError) as exc:
        raise TaskError('the values were applied, but the socket tables could not be read to examine ports: %s' % exc)
    return [_local_ports_info.judge(port, state, sockets, boot_range, boot_reserved) for port in sorted(ports)]


def _file_differs(managed, values, owned_text):
    """Compare the persisted file by meaning: numbers and port sets, not text."""
    if not managed['exists'] or not managed['managed']:
        return True
    current = managed['values']
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
