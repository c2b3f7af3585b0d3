# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules found on one host, as records and sentences: holders, listeners nobody declared, drift.

Controller-side and private.  Pure functions over a host's plan and the
result of local_ports (its ``examine``) or local_ports_info.  Sockets become
one structured record (``socket_record``) for the report; the sentences the
apply step warns or fails with are built from those records.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.ephemeral.plugins.module_utils._ports import parse_ports

# Holders named per report row, and in a sentence; the counts are always complete.
HOLDER_LIMIT = 5
SENTENCE_HOLDERS = 3


def usable(result):
    """A module result with data: a dict, neither skipped nor failed."""
    return isinstance(result, dict) and not result.get('skipped') and not result.get('failed')


def has_data(result):
    """Whether ``result`` carries the kernel values of a module run (even a failed one, such as on_held: fail)."""
    return isinstance(result, dict) and 'range' in result and not result.get('unreachable')


# --------------------------------------------------------------------------- sockets

def socket_record(sock):
    """One socket as the report keeps it: protocol, state, local, remote, uid, and its first process."""
    sock = sock if isinstance(sock, dict) else {}
    process = sock.get('process') if isinstance(sock.get('process'), dict) else {}
    count = sock.get('process_count')
    return {
        'protocol': sock.get('protocol'),
        'state': sock.get('state'),
        'local': sock.get('local'),
        'remote': sock.get('remote'),
        'uid': sock.get('uid') if isinstance(sock.get('uid'), int) else process.get('uid'),
        'pid': process.get('pid'),
        'comm': process.get('comm'),
        'user': process.get('user'),
        'process_count': count if isinstance(count, int) else (1 if process else 0),
        'no_process': sock.get('no_process') or None,
    }


def process_text(record):
    """``curl (pid 4242, user root)``, or why no process is named, or None when the module did not look."""
    if record.get('pid') is not None:
        user = record.get('user') if record.get('user') is not None else 'uid %s' % record.get('uid')
        more = (record.get('process_count') or 1) - 1
        return '%s (pid %s, user %s%s)' % (record.get('comm'), record.get('pid'), user,
                                           ', and %d more' % more if more > 0 else '')
    if record.get('no_process') == 'kernel_only':
        return 'no process: the kernel holds it alone'
    if record.get('no_process'):
        return 'no process found: exited, or not readable'
    return None


def socket_text(record):
    """``tcp ESTABLISHED 127.0.0.1:36601 -> 127.0.0.1:5000 by curl (pid 4242, user root)`` from a record."""
    parts = [str(record[key]) for key in ('protocol', 'state', 'local') if record.get(key)]
    if record.get('remote'):
        parts.append('-> %s' % record['remote'])
    owner = process_text(record)
    if owner and owner.startswith('no process'):
        parts.append('(%s)' % owner)
    elif owner:
        parts.append('by %s' % owner)
    elif record.get('uid') is not None and record.get('state') != 'TIME_WAIT':
        parts.append('(uid %s)' % record['uid'])
    return ' '.join(parts) or 'a socket'


def sockets_text(records, total, limit=SENTENCE_HOLDERS):
    """Several sockets in a sentence, the first ``limit`` named and the rest counted."""
    shown = '; '.join(socket_text(record) for record in records[:limit])
    if total > limit:
        shown += '; and %d more' % (total - limit)
    return shown


# --------------------------------------------------------------------------- held service ports

def port_entries(result):
    """{port: entry} of a module result's ``ports`` (local_ports' examine or local_ports_info), or {}."""
    if not has_data(result):
        return {}
    entries = {}
    for item in result.get('ports') or []:
        if isinstance(item, dict) and isinstance(item.get('port'), int):
            entries[item['port']] = item
    return entries


def is_held(entry):
    """Held by a socket that is not the service's listener: holders and no listener on the port."""
    return bool(entry and entry.get('holders') and not entry.get('listener_count', len(entry.get('listeners') or [])))


def holders_of(entry):
    """(records, total) of the sockets holding a port entry."""
    records = [socket_record(sock) for sock in entry.get('holders') or []]
    total = entry.get('holder_count')
    return records, total if isinstance(total, int) else len(records)


def names_by_port(plan):
    """{port: [service names]} of a plan's services."""
    names = {}
    for service in plan['services']:
        for port in parse_ports(service['ports'], 'ports'):
            names.setdefault(port, []).append(service['name'])
    return names


def held_problems(plan, result):
    """Service ports held right now by a socket that is not a listener (and no listener is up)."""
    entries = port_entries(result) if usable(result) else {}
    if not plan or not entries:
        return []
    names = names_by_port(plan)
    messages = []
    for port in sorted(entries):
        entry = entries[port]
        if port not in names or not is_held(entry):
            continue
        records, total = holders_of(entry)
        messages.append('port %d (%s) is held right now by a socket that is not its listener: %s. The service '
                        'cannot bind it until that socket closes (an outgoing connection in TIME_WAIT keeps it '
                        '60 s); the reservation only stops the kernel from choosing it again'
                        % (port, ', '.join(names[port]), sockets_text(records, total)))
    return messages


# --------------------------------------------------------------------------- listeners nobody declared

def _ignored(plan):
    ignore = (plan.get('settings') or {}).get('ignore_listeners') or {}
    return parse_ports(ignore.get('ports') or [], 'reserved_ports_ignore_listeners'), frozenset(ignore.get('commands') or [])


def undeclared_listeners(plan, result):
    """Listeners inside the ephemeral range on ports that are not reserved, minus the host's ignore list.

    From the modules' ``unreserved_listeners``; each a socket record plus port, declared (the inventory
    names the port) and moves_on_restart (a program that binds port 0 by design, such as rpc.statd).
    """
    if not has_data(result) or not plan:
        return []
    ignored_ports, commands = _ignored(plan)
    declared = parse_ports(plan.get('ports') or [], 'ports')
    found = []
    for item in result.get('unreserved_listeners') or []:
        if not isinstance(item, dict) or not isinstance(item.get('port'), int):
            continue
        processes = item.get('processes') or ([item['process']] if isinstance(item.get('process'), dict) else [])
        names = frozenset(str(process.get('comm')) for process in processes if isinstance(process, dict))
        if item['port'] in ignored_ports or names & commands:
            continue
        record = {'port': item['port']}
        record.update(socket_record(item))
        record.update(declared=item['port'] in declared, moves_on_restart=bool(item.get('binds_port_zero_likely')))
        found.append(record)
    return sorted(found, key=lambda item: (item['port'], str(item['protocol']), str(item['local'])))


def listener_problems(listeners):
    """One sentence per listener that warn/fail acts on (not those that move on restart anyway)."""
    return ['port %d (%s %s) is listened on by %s inside the ephemeral range and is not reserved: an outgoing '
            'connection can take it while the service is down. Declare it in reserved_ports_services, or add it '
            'to reserved_ports_ignore_listeners' % (item['port'], item['protocol'], item['local'],
                                                    process_text(item) or 'an unknown process')
            for item in listeners if not item['moves_on_restart']]


# --------------------------------------------------------------------------- drift

def canonical(port_set):
    """The kernel's canonical string of a port set in a module result ({canonical, ranges, count}); '' if none."""
    return (port_set.get('canonical') or '') if isinstance(port_set, dict) else ''


def drift_missing(result):
    """The ports reserved at boot that the live values lost (an audit's drift), or ''."""
    drift = result.get('drift') if has_data(result) else None
    if not isinstance(drift, dict) or not drift.get('detected'):
        return ''
    return canonical((drift.get('reserved') or {}).get('missing'))


def drift_problems(result):
    """The audit's drift in words: live values that differ from what the host gets at boot."""
    drift = result.get('drift') if usable(result) else None
    if not isinstance(drift, dict) or not drift.get('detected'):
        return []
    problems = []
    missing = drift_missing(result)
    if missing:
        problems.append('ports %s are reserved at boot but not live: something changed net.ipv4.ip_local_reserved_ports '
                        'since (another tool, sysctl -w or a truncating sysctl -p); rerun the role to restore them'
                        % missing)
    port_range = drift.get('range')
    if isinstance(port_range, dict) and port_range.get('live') != port_range.get('boot'):
        problems.append('the live ephemeral range %s differs from the range at boot %s'
                        % ('-'.join(map(str, port_range.get('live') or [])),
                           '-'.join(map(str, port_range.get('boot') or []))))
    return problems
