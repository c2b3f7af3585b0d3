# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report of the reserved_ports role: held ports, per-host summary, rows, parts, Markdown.

Controller-side and private.  Pure functions over what each host registered
(its plan, and the result of local_ports or local_ports_info); the same input
gives byte-identical output, whether it came from an apply, an audit or check
mode (one schema, one wording).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import json
import re

from ansible_collections.portguard.ephemeral.plugins.module_utils._examine import (
    REASON_EXPOSED,
    REASON_OUTSIDE,
    REASON_RESERVED,
)
from ansible_collections.portguard.ephemeral.plugins.module_utils._ports import (
    PortSpecError,
    format_ports,
    parse_ports,
)

SCHEMA = 2
GENERATED_BY = 'portguard.ephemeral.reserved_ports'
RANGE_KEY = 'net.ipv4.ip_local_port_range'
RESERVED_KEY = 'net.ipv4.ip_local_reserved_ports'
STATE_OK = 'ok'
STATE_FAILED = 'failed or unreachable'
STATE_NOT_RUN = 'not run'


def _ports_word(ports):
    return ('port %s' if len(ports) == 1 else 'ports %s') % format_ports(ports)


# --------------------------------------------------------------------------- held ports

def process_text(sock):
    """``curl (pid 4242, user root)``, or why no process is named, or None when the module did not look."""
    process = sock.get('process')
    if isinstance(process, dict) and process.get('pid') is not None:
        user = process.get('user') if process.get('user') is not None else 'uid %s' % process.get('uid')
        more = sock.get('process_count', 1) - 1
        return '%s (pid %s, user %s%s)' % (process.get('comm'), process.get('pid'), user,
                                           ', and %d more' % more if more > 0 else '')
    if sock.get('no_process') == 'kernel_only':
        return 'no process: the kernel holds it alone'
    if sock.get('no_process'):
        return 'no process found: exited, or not readable'
    return None


def _holder_text(sock):
    """``tcp ESTABLISHED 127.0.0.1:36601 -> 127.0.0.1:5000 by curl (pid 4242, user root)`` from a socket entry."""
    if not isinstance(sock, dict):
        return str(sock)
    parts = [str(sock[key]) for key in ('protocol', 'state', 'local') if sock.get(key)]
    if sock.get('remote'):
        parts.append('-> %s' % sock['remote'])
    owner = process_text(sock)
    if owner and owner.startswith('no process'):
        parts.append('(%s)' % owner)
    elif owner:
        parts.append('by %s' % owner)
    elif sock.get('uid') is not None and sock.get('state') != 'TIME_WAIT':
        parts.append('(uid %s)' % sock['uid'])
    return ' '.join(parts) or str(sock)


def _usable(result):
    return isinstance(result, dict) and not result.get('skipped') and not result.get('failed')


def port_entries(result):
    """{port: entry} of a module result's ``ports`` (local_ports' examine or local_ports_info), or {}."""
    if not _usable(result):
        return {}
    entries = {}
    for item in result.get('ports') or []:
        if isinstance(item, dict) and isinstance(item.get('port'), int):
            entries[item['port']] = item
    return entries


def _is_held(entry):
    """Held by a socket that is not the service's listener: holders and no listener on the port."""
    return bool(entry and entry.get('holders') and not entry.get('listener_count', len(entry.get('listeners') or [])))


def _holders_text(entry, limit=3):
    holders = entry.get('holders') or []
    shown = '; '.join(_holder_text(sock) for sock in holders[:limit])
    total = entry.get('holder_count', len(holders))
    if total > limit:
        shown += '; and %d more' % (total - limit)
    return shown


def _names_by_port(plan):
    names = {}
    for service in plan['services']:
        for port in parse_ports(service['ports'], 'ports'):
            names.setdefault(port, []).append(service['name'])
    return names


def held_problems(plan, result):
    """Service ports held right now by a socket that is not a listener (and no listener is up)."""
    entries = port_entries(result)
    if not plan or not entries:
        return []
    names = _names_by_port(plan)
    messages = []
    for port in sorted(entries):
        entry = entries[port]
        if port not in names or not _is_held(entry):
            continue
        messages.append('port %d (%s) is held right now by a socket that is not its listener: %s. The service '
                        'cannot bind it until that socket closes (an outgoing connection in TIME_WAIT keeps it '
                        '60 s); the reservation only stops the kernel from choosing it again'
                        % (port, ', '.join(names[port]), _holders_text(entry)))
    return messages


# --------------------------------------------------------------------------- listeners nobody declared

def undeclared_listeners(plan, result):
    """Listeners inside the ephemeral range on ports that are not reserved, minus the host's ignore list.

    From the modules' ``unreserved_listeners``; each: port, protocol, local, process (text), declared (the
    inventory names the port) and moves_on_restart (a program that binds port 0 by design, such as rpc.statd).
    """
    if not _usable(result) or not plan:
        return []
    ignore = (plan.get('settings') or {}).get('ignore_listeners') or {}
    ignored_ports = parse_ports(ignore.get('ports') or [], 'reserved_ports_ignore_listeners')
    commands = frozenset(ignore.get('commands') or [])
    declared = parse_ports(plan.get('ports') or [], 'ports')
    found = []
    for item in result.get('unreserved_listeners') or []:
        if not isinstance(item, dict) or not isinstance(item.get('port'), int):
            continue
        processes = item.get('processes') or ([item['process']] if isinstance(item.get('process'), dict) else [])
        names = frozenset(str(process.get('comm')) for process in processes if isinstance(process, dict))
        if item['port'] in ignored_ports or names & commands:
            continue
        found.append({'port': item['port'], 'protocol': item.get('protocol'), 'local': item.get('local'),
                      'process': process_text(item), 'declared': item['port'] in declared,
                      'moves_on_restart': bool(item.get('binds_port_zero_likely'))})
    return sorted(found, key=lambda item: (item['port'], str(item['protocol']), str(item['local'])))


def _canonical(port_set):
    """The kernel's canonical string of a port set in a module result ({canonical, ranges, count}); '' if none."""
    return (port_set.get('canonical') or '') if isinstance(port_set, dict) else ''


def drift_problems(result):
    """The audit's drift in words: live values that differ from what the host gets at boot."""
    drift = result.get('drift') if _usable(result) else None
    if not isinstance(drift, dict) or not drift.get('detected'):
        return []
    problems = []
    missing = _canonical((drift.get('reserved') or {}).get('missing'))
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


def listener_problems(listeners):
    """One sentence per listener that warn/fail acts on (not those that move on restart anyway)."""
    return ['port %d (%s %s) is listened on by %s inside the ephemeral range and is not reserved: an outgoing '
            'connection can take it while the service is down. Declare it in reserved_ports_services, or add it '
            'to reserved_ports_ignore_listeners' % (item['port'], item['protocol'], item['local'],
                                                    item['process'] or 'an unknown process')
            for item in listeners if not item['moves_on_restart']]


# --------------------------------------------------------------------------- one host

def _kernel_after(result):
    """(range, reserved set) this host has after the run (check mode: would have), or (None, None)."""
    if not _usable(result) or 'range' not in result:
        return None, None
    try:
        port_range, reserved = result['range'], result.get('reserved')
        if isinstance(port_range, dict):  # local_ports: {before, after}
            port_range = port_range['after']
        if isinstance(reserved, dict) and 'after' in reserved:  # local_ports: {before, after} of port sets
            reserved = reserved['after']
        return tuple(port_range), parse_ports(_canonical(reserved) or [], 'reserved')
    except (KeyError, TypeError, ValueError, PortSpecError):
        return None, None


def _boot(result):
    """{key: {'value', 'file'}} of the values that win at boot, or None (netns, or not known)."""
    if not _usable(result) or not isinstance(result.get('boot'), dict) or not result['boot']:
        return None
    netns = result.get('netns')
    if isinstance(netns, dict) and netns.get('path'):
        return None
    boot = {}
    for key in (RANGE_KEY, RESERVED_KEY):
        entry = result['boot'].get(key)
        if isinstance(entry, dict) and entry.get('file'):
            boot[key] = {'value': entry.get('value'), 'file': entry.get('file')}
        else:
            boot[key] = {'value': None, 'file': None}
    return boot


def _netns_path(result):
    netns = result.get('netns') if result else None
    return (netns.get('path') or None) if isinstance(netns, dict) else None


def _capacity(result):
    value = result.get('ephemeral_ports') if _usable(result) else None
    if isinstance(value, dict):
        value = value.get('after')
    return value if isinstance(value, int) else None


def _status(ports, port_range, reserved):
    """(protected, text) for ports under a range and a reserved set (no socket information)."""
    if port_range is None:
        return None, 'unknown: no kernel values from this host'
    low, high = port_range
    exposed = frozenset(port for port in ports if low <= port <= high and port not in reserved)
    if exposed:
        return False, REASON_EXPOSED if len(ports) == 1 else '%s: %s' % (_ports_word(exposed), REASON_EXPOSED)
    if all(port in reserved for port in ports):
        return True, REASON_RESERVED
    return True, REASON_OUTSIDE


def _entries_status(ports, entries):
    """(protected, text) from the modules' per-port verdicts, or (None, None) when one is missing."""
    found = [entries.get(port) for port in sorted(ports)]
    if not found or any(entry is None or 'at_risk' not in entry for entry in found):
        return None, None
    risky = [entry for entry in found if entry['at_risk']]
    if not risky:
        return True, '; '.join(sorted(set(str(entry.get('reason') or 'not at risk') for entry in found)))
    reasons = []
    for entry in risky:
        reason = str(entry.get('reason') or 'at risk')
        if reason not in reasons:
            reasons.append(reason)
    prefix = '' if len(ports) == 1 else '%s: ' % _ports_word(frozenset(entry['port'] for entry in risky))
    return False, prefix + '; '.join(reasons)


def host_summary(host, plan, result, state):
    """(summary, rows) of one host from its plan and its module result (apply or audit)."""
    result = result if _usable(result) else None
    port_range, reserved = _kernel_after(result)
    summary = {
        'state': state,
        'strategy': plan['strategy'] if plan else None,
        'range': list(port_range) if port_range else None,
        'reserved': format_ports(reserved) if reserved is not None else None,
        'ephemeral_ports': _capacity(result),
        'netns': _netns_path(result),
        'boot': _boot(result),
    }
    if port_range is not None and reserved:
        outside = frozenset(port for port in reserved if port < port_range[0] or port > port_range[1])
        summary['reserved_outside_range'] = format_ports(outside)
    else:
        summary['reserved_outside_range'] = None
    summary['undeclared_listeners'] = undeclared_listeners(plan, result)
    drift = (result or {}).get('drift') or {}
    summary['drift_missing'] = (_canonical((drift.get('reserved') or {}).get('missing')) or None) if drift.get('detected') else None
    rows = []
    if not plan:
        return summary, rows
    entries = port_entries(result)
    for service in plan['services']:
        for item in service['ports']:
            ports = parse_ports([item], 'ports')
            protected, status = _entries_status(ports, entries)
            if status is None:
                protected, status = _status(ports, port_range, reserved or frozenset())
            if protected is None and state != STATE_OK:
                status = 'unknown: host %s' % state
            held = []
            for port in sorted(ports):
                entry = entries.get(port)
                if _is_held(entry):
                    held.append('%d: %s' % (port, _holders_text(entry)) if len(ports) > 1 else _holders_text(entry))
            rows.append({
                'host': host,
                'service': service['name'],
                'protocol': service['protocol'],
                'port': item,
                'protected': protected,
                'status': status,
                'held_by': held,
                'note': service['note'],
                'source': ', '.join(service['sources']),
            })
    return summary, rows


# --------------------------------------------------------------------------- the report, parts, merging

def report(hosts, summaries, part=None):
    """The report: ``{schema, generated_by, parts, hosts: {host: summary}, rows}``.

    ``summaries``: {host: (summary, rows)} from ``host_summary``; a host missing
    from it is "not run" (a later serial batch, or a host that never got here).
    """
    hosts_out = {}
    rows = []
    for host in hosts:
        if host not in summaries:
            hosts_out[host] = host_summary(host, None, None, STATE_NOT_RUN)[0]
            continue
        hosts_out[host], host_rows = summaries[host]
        rows.extend(host_rows)
    part = dict(part or {})
    part.setdefault('name', 'all')
    part['hosts'] = len(hosts)
    return {'schema': SCHEMA, 'generated_by': GENERATED_BY, 'parts': [part], 'hosts': hosts_out, 'rows': rows}


class ReportError(ValueError):
    """A part that cannot be merged; the message names it."""


def merge(reports):
    """One fleet report from the parts' reports: [(name, report dict)].  A host in two parts is an error."""
    merged = {'schema': SCHEMA, 'generated_by': GENERATED_BY, 'parts': [], 'hosts': {}, 'rows': []}
    owner = {}
    for name, data in reports:
        if not isinstance(data, dict) or data.get('generated_by') != GENERATED_BY or data.get('schema') != SCHEMA:
            raise ReportError('%s is not a report of %s (schema %d); write it with this collection\'s role'
                              % (name, GENERATED_BY, SCHEMA))
        for host in data['hosts']:
            if host in owner:
                raise ReportError('host %s is in two parts: %s and %s; merge parts of disjoint host sets '
                                  '(serial batches, --limit patterns or job slices of one run)' % (host, owner[host], name))
            owner[host] = name
        merged['parts'].extend(data['parts'])
        merged['hosts'].update(data['hosts'])
        merged['rows'].extend(data['rows'])
    merged['parts'].sort(key=lambda item: (str(item.get('name')), json.dumps(item, sort_keys=True)))
    merged['rows'].sort(key=lambda row: (row['host'], row['service'], row['protocol'], row['port']))
    return merged


def to_json(data):
    return json.dumps(data, indent=4, sort_keys=True, ensure_ascii=True) + '\n'


_SPACES = re.compile(r'[\r\n\t\v\f\x00-\x1f\x7f\u2028\u2029\x85]+')


def cell(value):
    """A Markdown table cell: no line breaks, pipes escaped, HTML shown as text."""
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, (list, tuple)):
        value = '; '.join(str(item) for item in value)
    text = _SPACES.sub(' ', str(value))
    return html.escape(text, quote=False).replace('\\', '\\\\').replace('|', '\\|').replace('`', '\\`').strip()


def to_markdown(data, preview=False):
    lines = ['# Reserved service ports%s' % (' (check mode: a preview, nothing was changed)' if preview else ''), '']
    parts = ', '.join('%s (%s host%s)' % (cell(part.get('name')), part.get('hosts'), '' if part.get('hosts') == 1 else 's')
                      for part in data['parts'])
    lines += ['Parts: %s' % parts, '']
    lines += ['| host | service | protocol | port | protected | status | held by |', '|---|---|---|---|---|---|---|']
    for row in data['rows']:
        protected = 'unknown' if row['protected'] is None else ('yes' if row['protected'] else 'NO')
        lines.append('| %s | %s | %s | %s | %s | %s | %s |' % (
            cell(row['host']), cell(row['service']), cell(row['protocol']), cell(row['port']), protected,
            cell(row['status']), cell(row['held_by'])))
    lines += ['', '## Hosts', '',
              '| host | state | strategy | ephemeral range | reserved | free ephemeral ports | reserved outside the range '
              '| reserved at boot, lost live |', '|---|---|---|---|---|---|---|---|']
    for host in sorted(data['hosts']):
        item = data['hosts'][host]
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            cell(host), cell(item.get('state')), cell(item.get('strategy')),
            '-'.join(str(port) for port in item['range']) if item.get('range') else '',
            cell(item.get('reserved')), cell(item.get('ephemeral_ports')), cell(item.get('reserved_outside_range')),
            cell(item.get('drift_missing'))))
    listeners = [(host, item) for host in sorted(data['hosts']) for item in data['hosts'][host].get('undeclared_listeners') or []]
    if listeners:
        lines += ['', '## Listening inside the ephemeral range and not reserved', '',
                  '| host | port | protocol | address | process | declared | moves on restart |',
                  '|---|---|---|---|---|---|---|']
        for host, item in listeners:
            lines.append('| %s | %s | %s | %s | %s | %s | %s |' % (
                cell(host), item['port'], cell(item['protocol']), cell(item['local']), cell(item['process']),
                cell(item['declared']), cell(item['moves_on_restart'])))
    return '\n'.join(lines) + '\n'
