# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One examine for both modules: each service port's verdict and reason, its listeners and holders, their
processes, the unreserved listeners, and drift between live and boot values.

Private to the collection; standard library only.  The apply judges against
the values it leaves (or would leave, in check mode), the audit against the
live values; both against the same Outlook of the files (_boot_check).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports, _processes, _sockets

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


class Examination(object):
    """What examine found: the ``ports`` verdicts, the ``unreserved`` listeners (first ``UNRESERVED_LIMIT``) and
    their ``unreserved_count``, the ``process_scan`` summary and the ``sockets`` tables read."""

    __slots__ = ('ports', 'unreserved', 'unreserved_count', 'process_scan', 'sockets')

    def __init__(self, ports, unreserved, unreserved_count, process_scan, sockets):
        self.ports, self.unreserved, self.unreserved_count = ports, unreserved, unreserved_count
        self.process_scan, self.sockets = process_scan, sockets

    def result(self):
        """The result keys both modules return."""
        return {'ports': self.ports, 'unreserved_listeners': self.unreserved,
                'unreserved_listener_count': self.unreserved_count, 'process_scan': self.process_scan}


def examine(ports, state, later, netns_link, proc_root=_processes.PROC_ROOT, net_directory=None):
    """Read the socket tables once and judge ``ports`` (None: every listening port) against ``state``.

    Raises ValueError, IOError or OSError when the tables cannot be read.
    """
    sockets = _sockets.read_sockets(ports, net_directory, listening_filter=exposed_filter(state))
    examined = ports if ports is not None else sockets.listening_ports()
    entries = [judge(port, state, sockets, later) for port in sorted(examined)]
    unreserved, count = unreserved_listeners(sockets, state)
    scan = name_processes(entries, unreserved, netns_link, proc_root)
    return Examination(entries, unreserved, count, scan, sockets)


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


def judge(port, live, sockets, later=None):
    """Everything about one port, with ``at_risk`` and the reason in words.

    ``live``: the values judged against (what a run leaves); ``later``: the
    Outlook of the files (boot and ``sysctl --system``), None when the files do
    not configure the namespace.
    """
    low, high = live.port_range
    in_range = low <= port <= high
    reserved_live = port in live.reserved
    boot_known = later is not None
    in_range_boot = later.boot_range[0] <= port <= later.boot_range[1] if boot_known else None
    reserved_boot = port in later.boot_reserved if boot_known else None
    in_range_system = later.system_range[0] <= port <= later.system_range[1] if boot_known else None
    reserved_system = port in later.system_reserved if boot_known else None
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
    elif boot_known and in_range_system and not reserved_system:
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
