# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What portguard.ephemeral.local_ports_info reports (and local_ports' examine), without AnsibleModule.

Read-only.  Order of a run: validate the options, enter the namespace (fails
closed), read the two keys and the four socket tables once each, resolve the
boot configuration with systemd-sysctl's (and procps') rules, judge every
examined port, then name the processes behind the listed sockets.  Port sets
are compared as sets, ranges as numbers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.portguard.ephemeral.plugins.module_utils import (
    _plan, _ports, _pressure, _processes, _sockets, _sysctl, _sysctld)
from ansible_collections.portguard.ephemeral.plugins.module_utils._task import TaskError

# What a network namespace (the host's included) holds when no file sets the key.
KERNEL_DEFAULT_RANGE = (32768, 60999)
KERNEL_DEFAULT_RESERVED = frozenset()
# Per port, at most this many sockets are listed; the counts are always complete.
LIST_LIMIT = 20
# At most this many unreserved listeners are listed; unreserved_listener_count is complete.
UNRESERVED_LIMIT = 200

REASON_HELD = 'held by an outgoing connection in %s: a restart would fail now'
REASON_EXPOSED = 'in the ephemeral range and not reserved'
REASON_RESERVED = 'reserved'
REASON_OUTSIDE = 'outside the ephemeral range'
REASON_BOOT_UNRESERVED = ('reserved now but not at boot: after a reboot it is in the ephemeral range '
                          'and not reserved')
REASON_BOOT_IN_RANGE = ('outside the ephemeral range now, but after a reboot it is in the ephemeral range '
                        'and not reserved')
REASON_SYSCTL_SYSTEM = ('safe now and after a reboot, but a procps sysctl --system run leaves it in the '
                        'ephemeral range and not reserved (see boot.<key>.sysctl_system)')
NETNS_BOOT_NOTE = ('the sysctl.d files configure the namespace the host boots with, not %s; a namespace '
                   'starts at the kernel defaults and gets its values from whoever creates it, so there '
                   'is no boot value to compare with')


def parse_options(params):
    """Validate every option; raise TaskError naming the option and value."""
    examine = params.get('examine')
    if examine is not None:
        try:
            examine = _ports.parse_ports(examine, 'examine')
        except _ports.PortSpecError as exc:
            raise TaskError(str(exc), option='examine')
    netns = params.get('netns')
    if netns is not None and not os.path.isabs(netns):
        raise TaskError('netns: %r is not an absolute path; give /run/netns/NAME or /proc/PID/ns/net' % (netns,),
                        option='netns')
    return {'examine': examine, 'netns': netns,
            'pressure_limit': _pressure.parse_limit(params)}  # issue 24


def _hidden_entries(root, key):
    """Assignments of ``key`` in files that a same-name file (or a mask) in an earlier directory hides."""
    masks = []
    hidden = []
    for item in _sysctld.boot_files(root):
        if item['masked']:
            masks.append({'file': item['path'], 'hides': list(item['hides'])})
        for path in item['hides']:
            text = _sysctld.read_text(_sysctld.under_root(root, path))
            for number, name, value, _ignore in _sysctld.parse_lines(text or ''):
                if name == key:
                    hidden.append({'file': path, 'line': number, 'value': value, 'via': None,
                                   'status': 'masked' if item['masked'] else 'hidden', 'by': item['path']})
    return masks, hidden


def _parse_value(key, value, where, unprivileged_port_start):
    """The boot value as a range tuple or a port set; PortSpecError when the kernel would refuse it."""
    if key == _sysctl.RANGE_KEY:
        return _ports.parse_range(value, where, unprivileged_port_start)
    return _ports.parse_kernel_string(value, where)


def kernel_accepts(key, value, unprivileged_port_start):
    """Whether the kernel takes ``value`` for ``key`` (a refused write leaves the key unchanged)."""
    if key == _sysctl.RESERVED_KEY and _ports.well_formed_in_bounds(value):
        return True
    try:
        _parse_value(key, value, key, unprivileged_port_start)
    except _ports.PortSpecError:
        return False
    return True


def _default_text(key):
    if key == _sysctl.RANGE_KEY:
        return _ports.format_range(KERNEL_DEFAULT_RANGE, ' ')
    return _ports.format_ports(KERNEL_DEFAULT_RESERVED)


def _default_value(key):
    return KERNEL_DEFAULT_RANGE if key == _sysctl.RANGE_KEY else KERNEL_DEFAULT_RESERVED


def boot_report(root, unprivileged_port_start, warnings):
    """For each key: the value systemd-sysctl applies at boot and every file that sets it.

    Returns (report, {key: parsed boot value}, {key: parsed value after a
    procps ``sysctl --system`` run}); each report item has ``sysctl_system``.  When no file sets a key, or the
    winning value is one the kernel refuses, the boot value is the kernel
    default (32768 60999, nothing reserved).
    """
    def accepts(key, value):
        return kernel_accepts(key, value, unprivileged_port_start)

    config = _sysctld.boot_config(list(_sysctl.KEYS), root, accepts=accepts)
    system = _sysctld.sysctl_system_config(list(_sysctl.KEYS), root, accepts=accepts)
    report = {}
    values = {}
    system_values = {}
    for key in _sysctl.KEYS:
        info = config[key]
        winner = info['winner']
        entries = []
        for entry in info['entries']:
            entries.append({'file': entry['file'], 'line': entry['line'], 'value': entry['value'],
                            'via': entry['via'], 'status': 'winner' if entry is winner else 'overridden',
                            'by': None})
        masks, hidden = _hidden_entries(root, key)
        entries.extend(hidden)
        for entry in entries:
            if entry['status'] == 'overridden':
                entry['by'] = winner['file']
        item = {'value': _default_text(key), 'source': 'kernel default', 'file': None, 'line': None,
                'via': None, 'valid': True, 'error': None, 'entries': entries, 'masked': masks,
                'procps_override': None}
        values[key] = _default_value(key)
        if winner is not None:
            item.update({'value': winner['value'], 'source': 'file', 'file': winner['file'],
                         'line': winner['line'], 'via': winner['via']})
            where = '%s line %d' % (winner['file'], winner['line'])
            try:
                values[key] = _parse_value(key, winner['value'], where, unprivileged_port_start)
            except _ports.PortSpecError as exc:
                item['valid'] = False
                item['error'] = str(exc)
                warnings.append('%s sets %s to a value the kernel refuses or misreads at boot (%s); '
                                'the boot value is taken as the kernel default %r'
                                % (where, key, exc, _default_text(key)))
        item['sysctl_system'], system_values[key] = _sysctl_system_item(
            key, system[key], item, values[key], unprivileged_port_start, warnings)
        override = info['procps_override']
        if override:
            item['procps_override'] = {'file': override['file'], 'line': override['line'],
                                       'value': override['value']}
            if not item['sysctl_system']['differs']:
                warnings.append('%s line %d sets %s; systemd-sysctl ignores that file at boot, but a later procps '
                                '"sysctl --system" applies it last' % (override['file'], override['line'], key))
        report[key] = item
    return report, values, system_values


def _sysctl_system_item(key, info, boot_item, boot_value, unprivileged_port_start, warnings):
    """What a procps ``sysctl --system`` run leaves for ``key`` after boot: (report item, parsed value).

    It writes every line it reads, /etc/sysctl.conf last (even when 99-sysctl.conf
    links to it); a line the kernel refuses leaves the value before it.  No line
    at all leaves the boot value.
    """
    winner = info['winner']
    item = {'value': boot_item['value'], 'source': 'unchanged', 'file': None, 'line': None, 'via': None,
            'differs': False,
            'refused': [{'file': e['file'], 'line': e['line'], 'value': e['value']} for e in info['refused']]}
    if winner is None:
        return item, boot_value
    value = _parse_value(key, winner['value'], key, unprivileged_port_start)
    item.update({'value': winner['value'], 'source': 'file', 'file': winner['file'], 'line': winner['line'],
                 'via': winner['via'], 'differs': value != boot_value})
    if item['differs']:
        where = '%s line %d' % (winner['file'], winner['line'])
        if winner['file'] == _sysctld.SYSCTL_CONF:
            where += (' (procps applies /etc/sysctl.conf last, after every sysctl.d file, even when '
                      '99-sysctl.conf links to it)')
        boot_where = ('%s line %d' % (boot_item['file'], boot_item['line'])) if boot_item['file'] else 'the kernel default'
        warnings.append('a procps "sysctl --system" run sets %s = %s from %s, not the boot value %s from %s: '
                        'whoever runs it undoes the boot configuration'
                        % (key, _short(winner['value']), where, _short(boot_item['value']) or '""', boot_where))
    return item, value


def _short(value, limit=60):
    return value if len(value) <= limit else value[:limit] + '...'


def drift_report(live, boot_range, boot_reserved):
    """Live values against boot values, as numbers and sets."""
    result = {'detected': False, 'range': None, 'reserved': None, 'note': None}
    if tuple(live.port_range) != tuple(boot_range):
        result['range'] = {'live': list(live.port_range), 'boot': list(boot_range)}
    missing = boot_reserved - live.reserved
    extra = live.reserved - boot_reserved
    if missing or extra:
        result['reserved'] = {'missing': _ports.port_set(missing), 'extra': _ports.port_set(extra)}
    result['detected'] = result['range'] is not None or result['reserved'] is not None
    return result


def _states_text(holders):
    states = []
    for protocol, state in holders:
        text = state if protocol.startswith('tcp') else '%s (%s)' % (state, protocol)
        if text not in states:
            states.append(text)
    if len(states) == 1:
        return states[0]
    return ', '.join(states[:-1]) + ' and ' + states[-1]


def _state_order(key):
    """TCP before UDP, then the states of a live connection before the closing ones."""
    protocol, state = key.split(' ', 1)
    order = ('ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'NEW_SYN_RECV', 'CLOSE_WAIT', 'FIN_WAIT1', 'FIN_WAIT2',
             'CLOSING', 'LAST_ACK', 'TIME_WAIT')
    return (not protocol.startswith('tcp'), order.index(state) if state in order else len(order), key)


def listener_dict(sock):
    """A listener as the results list it, before its processes are known."""
    return {'protocol': sock.protocol, 'address': sock.local_address,
            'local': _sockets.endpoint(sock.local_address, sock.local_port), 'uid': sock.uid, 'inode': sock.inode}


def unreserved_listeners(sockets, state, limit=None):
    """Listeners inside the range of ``state`` on ports it does not reserve: (first ``limit``, total).

    ``sockets`` must hold the sockets of those ports (read_sockets with
    ``listening_filter=exposed_filter(state)``, or with no port list).
    """
    if limit is None:
        limit = UNRESERVED_LIMIT
    low, high = state.port_range
    listed = []
    total = 0
    for port in sorted(sockets.listening_ports()):
        if not low <= port <= high or port in state.reserved:
            continue
        for sock in sockets.get(port).listeners():
            total += 1
            if len(listed) < limit:
                entry = {'port': port}
                entry.update(listener_dict(sock))
                listed.append(entry)
    return listed, total


def exposed_filter(state):
    """The listening ports unreserved_listeners needs: inside the range, not reserved."""
    low, high = state.port_range
    reserved = state.reserved
    return lambda port: low <= port <= high and port not in reserved


def name_processes(entries, unreserved, netns_link, proc_root=_processes.PROC_ROOT):
    """Name the processes of every listed listener and holder, in one pass over the processes.

    Adds ``process``, ``processes``, ``process_count`` and ``no_process`` to each
    socket dict, and ``binds_port_zero_likely`` to each unreserved listener.
    Returns the scan's summary (how many processes were read, skipped, or in
    another namespace).
    """
    sockets = []
    for entry in entries:
        sockets.extend(entry['listeners'])
        sockets.extend(entry['holders'])
    sockets.extend(unreserved)
    owners = _processes.find_owners(set(item['inode'] for item in sockets), netns_link, proc_root)
    for item in sockets:
        owners.describe(item, item['inode'])
    for item in unreserved:
        item['binds_port_zero_likely'] = _processes.binds_port_zero_likely(item['processes'])
    return owners.summary()


def judge(port, live, sockets, boot_range=None, boot_reserved=None, system_range=None, system_reserved=None):
    """Everything about one port, with ``at_risk`` and the reason in words.

    ``system_*``: the values a procps ``sysctl --system`` run leaves (None: not known).
    """
    low, high = live.port_range
    in_range = low <= port <= high
    reserved_live = port in live.reserved
    boot_known = boot_range is not None
    in_range_boot = boot_range[0] <= port <= boot_range[1] if boot_known else None
    reserved_boot = port in boot_reserved if boot_known else None
    system_known = system_range is not None
    in_range_system = system_range[0] <= port <= system_range[1] if system_known else None
    reserved_system = port in system_reserved if system_known else None
    found = sockets.get(port)
    listeners = [listener_dict(s) for s in found.listeners(LIST_LIMIT)]
    holders = [s.as_dict() for s in found.holders(LIST_LIMIT)]
    holder_states = found.holder_states()
    listener_count = found.listener_count
    if holder_states and not listener_count:
        states = [tuple(key.split(' ', 1)) for key in sorted(holder_states, key=_state_order)]
        at_risk, reason = True, REASON_HELD % _states_text(states)
    elif in_range and not reserved_live:
        at_risk, reason = True, REASON_EXPOSED
    elif boot_known and in_range_boot and not reserved_boot:
        at_risk = True
        reason = REASON_BOOT_UNRESERVED if reserved_live else REASON_BOOT_IN_RANGE
    elif system_known and in_range_system and not reserved_system:
        at_risk, reason = True, REASON_SYSCTL_SYSTEM
    elif reserved_live:
        at_risk, reason = False, REASON_RESERVED
    else:
        at_risk, reason = False, REASON_OUTSIDE
    return {
        'port': port,
        'in_range': in_range,
        'reserved_live': reserved_live,
        'in_range_boot': in_range_boot,
        'reserved_boot': reserved_boot,
        'in_range_sysctl_system': in_range_system,
        'reserved_sysctl_system': reserved_system,
        'listeners': listeners,
        'listener_count': listener_count,
        'holders': holders,
        'holder_count': sum(holder_states.values()),
        'holder_states': holder_states,
        'at_risk': at_risk,
        'reason': reason,
    }


def _warnings(live, boot_values, boot_applies):
    warnings = list(_plan.warnings_for(live.port_range, live.reserved))
    if boot_applies:
        boot_range = boot_values[_sysctl.RANGE_KEY]
        boot_reserved = boot_values[_sysctl.RESERVED_KEY]
        if (tuple(boot_range), boot_reserved) != (tuple(live.port_range), live.reserved):
            for text in _plan.warnings_for(boot_range, boot_reserved):
                warnings.append('at boot: %s' % text)
    return warnings


def _enter(netns, proc_sys):
    """Enter ``netns`` (when given) and read its live values: (identity, live, whether the boot files apply)."""
    try:
        own = _sysctl.netns_identity()
        if netns:
            _sysctl.enter_netns(netns)
        identity = _sysctl.netns_identity()
        identity['path'] = netns
        live = _sysctl.read_live(proc_sys)
    except _sysctl.SysctlError as exc:
        raise TaskError(str(exc))
    except OSError as exc:
        raise TaskError('cannot identify the network namespace: %s' % exc)
    # The boot files describe the namespace this module runs in; a namespace
    # entered through netns gets its values from whoever creates it.
    return identity, live, (identity['inode'], identity['dev']) == (own['inode'], own['dev'])


def run(params, proc_sys=_sysctl.PROC_SYS, root='/', net_directory=None, proc_root=_processes.PROC_ROOT):
    """One run of the module; return the result dict or raise TaskError."""
    opts = parse_options(params)
    identity, live, boot_applies = _enter(opts['netns'], proc_sys)

    try:
        sockets = _sockets.read_sockets(opts['examine'], net_directory, listening_filter=exposed_filter(live))
    except ValueError as exc:
        raise TaskError('cannot read the socket tables: %s' % exc)
    examined = opts['examine'] if opts['examine'] is not None else sockets.listening_ports()

    warnings = []
    boot, boot_values, system_values = boot_report(root, live.unprivileged_port_start, warnings)
    if boot_applies:
        boot_range = boot_values[_sysctl.RANGE_KEY]
        boot_reserved = boot_values[_sysctl.RESERVED_KEY]
        system_range = system_values[_sysctl.RANGE_KEY]
        system_reserved = system_values[_sysctl.RESERVED_KEY]
        drift = drift_report(live, boot_range, boot_reserved)
    else:
        boot_range = boot_reserved = system_range = system_reserved = None
        drift = {'detected': None, 'range': None, 'reserved': None, 'note': NETNS_BOOT_NOTE % opts['netns']}
    warnings = _warnings(live, boot_values, boot_applies) + warnings

    counts = dict(sockets.counts)
    counts['total'] = sockets.total
    counts['source'] = sockets.directory
    entries = [judge(port, live, sockets, boot_range, boot_reserved, system_range, system_reserved)
               for port in sorted(examined)]
    unreserved, unreserved_count = unreserved_listeners(sockets, live)
    process_scan = name_processes(entries, unreserved, identity['link'], proc_root)
    # Ephemeral pressure per destination (issue 24), from the tables read above.
    pressure = _pressure.for_info(sockets, live, opts['pressure_limit'])
    return {
        'changed': False,
        'range': list(live.port_range),
        'reserved': _ports.port_set(live.reserved),
        'ephemeral_ports': _ports.ephemeral_capacity(live.port_range, live.reserved),
        'reserved_outside_range': _ports.port_set(_plan.outside_range(live.port_range, live.reserved)),
        'boot': boot,
        'drift': drift,
        'ports': entries,
        'unreserved_listeners': unreserved,
        'unreserved_listener_count': unreserved_count,
        'process_scan': process_scan,
        'sockets': counts,
        'pressure': pressure,
        'netns': identity,
        'warnings': warnings,
    }
