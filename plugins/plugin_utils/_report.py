# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's content: each host's verdict, rows and kernel values, and the report that keeps them.

Controller-side and private.  Pure functions: a host's entry comes from what
it registered in this run (its plan and the result of local_ports or
local_ports_info, or its failure); ``update`` replaces the entries of the
hosts a run reached and keeps every other host's; ``merge`` combines reports
of several controllers, keeping each host's latest entry.  docs/report.schema.json
describes the result; ``_report_markdown`` renders it, ``_report_files`` stores it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json

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
from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _findings

SCHEMA_VERSION = 3
GENERATED_BY = 'portguard.ephemeral.reserved_ports'
RANGE_KEY = 'net.ipv4.ip_local_port_range'
RESERVED_KEY = 'net.ipv4.ip_local_reserved_ports'
VERDICTS = ('protected', 'at_risk', 'failed', 'unreachable', 'not_run')
MODES = ('apply', 'audit', 'preview')
OUTCOMES = ('changed', 'unchanged', 'failed', 'unreachable', 'blocked')
# Pressure destinations kept per host (the tightest first; destination_count is complete).
PRESSURE_LIMIT = 5
# Rows named in an at-risk host's message; the count is complete.
MESSAGE_ROWS = 3

# One run of the role as each host it reached records it: when (UTC, ISO 8601), in which mode, the part's
# name (reserved_ports_report_part, else --limit, else "all"), and the play run it belongs to.
Run = collections.namedtuple('Run', 'at mode part run_id')
# What every report says about itself.
Meta = collections.namedtuple('Meta', 'generated_at collection_version ansible_core_version check_mode')
LEFT_BEFORE = ("the host left the play before the role's apply step: an earlier task failed or the host was "
               "unreachable (see the play's output)")
NEVER_REACHED = 'no run of the role has reached this host yet'


class ReportError(ValueError):
    """A report that cannot be read, merged or written; the message names the file."""


def _ports_word(ports):
    return ('port %s' if len(ports) == 1 else 'ports %s') % format_ports(ports)


# --------------------------------------------------------------------------- kernel values of one host

def _kernel_after(result):
    """(range, reserved set) this host has after the run (check mode: would have), or (None, None)."""
    if not _findings.has_data(result):
        return None, None
    try:
        port_range, reserved = result['range'], result.get('reserved')
        if isinstance(port_range, dict):  # local_ports: {before, after}
            port_range = port_range['after']
        if isinstance(reserved, dict) and 'after' in reserved:  # local_ports: {before, after} of port sets
            reserved = reserved['after']
        return tuple(port_range), parse_ports(_findings.canonical(reserved) or [], 'reserved')
    except (KeyError, TypeError, ValueError, PortSpecError):
        return None, None


def _boot(result):
    """{key: {'value', 'file'}} of the values that win at boot, or None (netns, or not known)."""
    if not _findings.has_data(result) or not isinstance(result.get('boot'), dict) or not result['boot']:
        return None
    if _netns_path(result):
        return None
    boot = {}
    for key in (RANGE_KEY, RESERVED_KEY):
        entry = result['boot'].get(key)
        if isinstance(entry, dict) and entry.get('file'):
            boot[key] = {'value': entry.get('value'), 'file': entry.get('file')}
        else:
            boot[key] = {'value': None, 'file': None}
    return boot


def _boot_chain(result):
    """The programs the modules predict apply sysctls at boot, in order: [{'name', 'profile'}], or None."""
    chain = result.get('boot_appliers') if _findings.has_data(result) and not _netns_path(result) else None
    if not isinstance(chain, list) or not chain:
        return None
    return [collections.OrderedDict((('name', str(item.get('name'))),
                                     ('profile', str(item['profile']) if item.get('profile') else None)))
            for item in chain if isinstance(item, dict) and item.get('name')]


def _netns_path(result):
    netns = result.get('netns') if isinstance(result, dict) else None
    return (netns.get('path') or None) if isinstance(netns, dict) else None


def _capacity(result):
    value = result.get('ephemeral_ports') if _findings.has_data(result) else None
    if isinstance(value, dict):
        value = value.get('after')
    return value if isinstance(value, int) else None


def _changes(result):
    """What a local_ports run changed (check mode: would change), or None when nothing (or an audit)."""
    if not _findings.has_data(result) or not result.get('changed') or not isinstance(result.get('range'), dict):
        return None
    port_range = result['range']
    moved = port_range.get('before') != port_range.get('after')
    return {
        'range': {'before': port_range.get('before'), 'after': port_range.get('after')} if moved else None,
        'added': _findings.canonical(result.get('added')),
        'released': _findings.canonical(result.get('released')),
        'file': result.get('persisted_file') if result.get('file_changed') else None,
    }


def _owners(result):
    """{owner: {canonical, count}} from the modules' ``owners``, or None when the result has none."""
    owners = result.get('owners') if _findings.has_data(result) else None
    if not isinstance(owners, dict):
        return None
    return dict((str(name), {'canonical': _findings.canonical(ports),
                             'count': ports.get('count') if isinstance(ports, dict) and isinstance(ports.get('count'), int) else 0})
                for name, ports in sorted(owners.items()))


def _destination(item):
    states = item.get('states') if isinstance(item.get('states'), dict) else {}
    return {
        'protocol': item.get('protocol'),
        'remote_address': item.get('remote_address'),
        'remote_port': item.get('remote_port'),
        'local_address': item.get('local_address'),
        'in_use': item.get('in_use'),
        'left': item.get('left'),
        'states': dict((str(key), value) for key, value in sorted(states.items()) if isinstance(value, int)),
    }


def _pressure(result, plan=None):
    """The host's ephemeral port pressure (local_ports: after its change), tightest destinations first, or None.

    ``min_free`` is the host's setting (the plan's), so an apply and an audit of the same host say the same.
    """
    pressure = result.get('pressure') if _findings.has_data(result) else None
    min_free = (plan or {}).get('settings', {}).get('min_free_per_destination')
    if isinstance(pressure, dict) and 'after' in pressure:  # local_ports: {before, after, min_free}
        min_free = pressure.get('min_free') if min_free is None else min_free
        pressure = pressure.get('after')
    if not isinstance(pressure, dict):
        return None
    destinations = [_destination(item) for item in pressure.get('destinations') or [] if isinstance(item, dict)]
    destinations.sort(key=lambda item: (item['left'] if isinstance(item['left'], int) else 1 << 30,
                                        str(item['remote_address']), str(item['remote_port'])))
    return {
        'range': pressure.get('range'),
        'effective': pressure.get('effective'),
        'destination_count': pressure.get('destination_count', len(destinations)),
        'limit': pressure.get('limit'),
        'min_free': min_free if isinstance(min_free, int) else None,
        'destinations': destinations[:PRESSURE_LIMIT],
    }


# --------------------------------------------------------------------------- rows of one host

def _status(ports, port_range, reserved):
    """(protected, message, ports at risk) under a range and a reserved set (no socket information)."""
    if port_range is None:
        return None, None, frozenset()
    low, high = port_range
    exposed = frozenset(port for port in ports if low <= port <= high and port not in reserved)
    if exposed:
        return False, REASON_EXPOSED if len(ports) == 1 else '%s: %s' % (_ports_word(exposed), REASON_EXPOSED), exposed
    if all(port in reserved for port in ports):
        return True, REASON_RESERVED, frozenset()
    return True, REASON_OUTSIDE, frozenset()


def _entries_status(ports, entries):
    """(protected, message, ports at risk) from the modules' per-port verdicts, or Nones when one is missing."""
    found = [entries.get(port) for port in sorted(ports)]
    if not found or any(entry is None or 'at_risk' not in entry for entry in found):
        return None, None, frozenset()
    risky = [entry for entry in found if entry['at_risk']]
    if not risky:
        return True, '; '.join(sorted(set(str(entry.get('reason') or 'not at risk') for entry in found))), frozenset()
    reasons = []
    for entry in risky:
        reason = str(entry.get('reason') or 'at risk')
        if reason not in reasons:
            reasons.append(reason)
    at_risk = frozenset(entry['port'] for entry in risky)
    prefix = '' if len(ports) == 1 else '%s: ' % _ports_word(at_risk)
    return False, prefix + '; '.join(reasons), at_risk


def _row(host, service, item, kernel, unknown):
    """(row, ports at risk) of one port or range of a service."""
    entries, port_range, reserved = kernel
    ports = parse_ports([item], 'ports')
    protected, message, at_risk = _entries_status(ports, entries)
    if message is None:
        protected, message, at_risk = _status(ports, port_range, reserved or frozenset())
    if protected is None:
        message = unknown
    holders, total = [], 0
    for port in sorted(ports) if entries else ():
        entry = entries.get(port)
        if _findings.is_held(entry):
            records, count = _findings.holders_of(entry)
            holders.extend(records)
            total += count
    row = collections.OrderedDict((
        ('host', host), ('service', service['name']), ('protocol', service['protocol']), ('port', item),
        ('protected', protected), ('message', message), ('holders', holders[:_findings.HOLDER_LIMIT]),
        ('holder_count', total), ('note', service['note']), ('source', ', '.join(service['sources'])),
    ))
    return row, at_risk


def host_rows(host, plan, result, unknown):
    """(rows, ports at risk) of one host: a row per service and port (or range) of its plan."""
    if not plan:
        return [], frozenset()
    port_range, reserved = _kernel_after(result)
    kernel = (_findings.port_entries(result), port_range, reserved)
    rows, at_risk = [], frozenset()
    for service in plan['services']:
        for item in service['ports']:
            row, risky = _row(host, service, item, kernel, unknown)
            rows.append(row)
            at_risk |= risky
    return rows, at_risk


def _risk_message(rows, at_risk):
    risky = [row for row in rows if row['protected'] is False]
    named = ['%s (%s): %s' % (row['port'], row['service'], row['message']) for row in risky[:MESSAGE_ROWS]]
    more = '; and %d more' % (len(risky) - MESSAGE_ROWS) if len(risky) > MESSAGE_ROWS else ''
    return '%d %s at risk: %s%s' % (len(at_risk), 'port' if len(at_risk) == 1 else 'ports', '; '.join(named), more)


# --------------------------------------------------------------------------- one host's entry

def _last_run(run, outcome):
    return collections.OrderedDict((('at', run.at), ('mode', run.mode), ('outcome', outcome),
                                    ('part', run.part), ('run_id', run.run_id)))


def _entry(verdict, message, at_risk, last_run, result=None, plan=None):
    """A host's entry, in the report's key order; the kernel values come from ``result`` when it has them."""
    port_range, reserved = _kernel_after(result)
    outside = None
    if port_range is not None and reserved is not None:
        outside = format_ports(frozenset(port for port in reserved if port < port_range[0] or port > port_range[1]))
    return collections.OrderedDict((
        ('verdict', verdict), ('message', message), ('at_risk_ports', at_risk), ('last_run', last_run),
        ('changes', _changes(result)), ('strategy', plan['strategy'] if plan else None),
        ('range', list(port_range) if port_range else None),
        ('reserved', format_ports(reserved) if reserved is not None else None),
        ('reserved_outside_range', outside), ('ephemeral_ports', _capacity(result)), ('netns', _netns_path(result)),
        ('boot', _boot(result)), ('boot_chain', _boot_chain(result)),
        ('drift_missing', _findings.drift_missing(result) or None),
        ('undeclared_listeners', _findings.undeclared_listeners(plan, result)),
        ('owners', _owners(result)), ('pressure', _pressure(result, plan)),
    ))


def _plan_of(result):
    plan = result.get('plan') if isinstance(result, dict) else None
    return plan if isinstance(plan, dict) and 'services' in plan else None


def _without_data(host, plan, run, verdict, message, outcome):
    """A host this run reached that has no kernel values: its rows from the plan say unknown, and why."""
    rows, _risky = host_rows(host, plan, None, 'unknown: %s' % verdict.replace('_', ' '))
    return _entry(verdict, message, None, _last_run(run, outcome), plan=plan), rows


def reached_host(host, result, run, previous=None):
    """(entry, rows) of a host from its apply or audit result in this run.

    ``previous``: its (entry, rows) in the report so far, kept as they are
    when this run blocked the host (another host had problems, so nothing ran
    on it).  Returns None for a result that says nothing (validation only).
    """
    plan = _plan_of(result)
    message = str(result.get('msg') or '') or None
    if result.get('unreachable'):
        return _without_data(host, plan, run, 'unreachable', message, 'unreachable')
    if result.get('blocked_by'):
        if previous is not None and previous[0]['verdict'] != 'not_run':
            return previous
        return _without_data(host, plan, run, 'not_run', message, 'blocked')
    if result.get('failed') and not _findings.has_data(result):
        return _without_data(host, plan, run, 'failed', message, 'failed')
    if not _findings.has_data(result):
        return None
    rows, at_risk = host_rows(host, plan, result, 'unknown: no kernel values from this host')
    if result.get('failed'):
        verdict, outcome = 'failed', 'failed'
    else:
        verdict = 'at_risk' if at_risk else 'protected'
        outcome = 'changed' if result.get('changed') else 'unchanged'
        message = _risk_message(rows, at_risk) if at_risk else None
    return _entry(verdict, message, len(at_risk), _last_run(run, outcome), result, plan), rows


def left_host(run):
    """(entry, rows) of a host of the play that left it before the role's apply step."""
    return _entry('failed', LEFT_BEFORE, None, _last_run(run, 'failed')), []


def never_reached():
    """(entry, rows) of a host of the play that no run has reached (a later serial batch)."""
    return _entry('not_run', NEVER_REACHED, None, None), []


# --------------------------------------------------------------------------- the report

def _port_key(row):
    text = str(row['port'])
    return (str(row['host']), int(text.split('-', 1)[0]) if text.split('-', 1)[0].isdigit() else 0, text,
            str(row['protocol']), str(row['service']))


def needs_attention(entry):
    return entry['verdict'] != 'protected'


def document(hosts, meta, message=None):
    """The report from {host: (entry, rows)}: counts, hosts needing attention, every host, rows (host, port)."""
    names = sorted(hosts)
    counts = collections.OrderedDict((verdict, 0) for verdict in VERDICTS)
    for name in names:
        counts[hosts[name][0]['verdict']] += 1
    attention = [name for name in names if needs_attention(hosts[name][0])]
    order = attention + [name for name in names if not needs_attention(hosts[name][0])]
    rows = sorted((row for name in names for row in hosts[name][1]), key=_port_key)
    return collections.OrderedDict((
        ('schema_version', SCHEMA_VERSION), ('generated_by', GENERATED_BY), ('generated_at', meta.generated_at),
        ('collection_version', meta.collection_version), ('ansible_core_version', meta.ansible_core_version),
        ('check_mode', meta.check_mode), ('message', message), ('counts', counts), ('attention', attention),
        ('hosts', collections.OrderedDict((name, hosts[name][0]) for name in order)), ('rows', rows),
    ))


def entries_of(data):
    """{host: (entry, rows)} of a report as read back."""
    rows = {}
    for row in data['rows']:
        rows.setdefault(row['host'], []).append(row)
    return dict((host, (entry, rows.get(host, []))) for host, entry in data['hosts'].items())


def check_report(name, data):
    """Raise ReportError unless ``data`` is a report of this schema (``name`` says which file)."""
    if not isinstance(data, dict) or data.get('generated_by') != GENERATED_BY:
        raise ReportError('%s is not a report of %s; give the path of a report the role wrote' % (name, GENERATED_BY))
    if data.get('schema_version') != SCHEMA_VERSION or not isinstance(data.get('hosts'), dict) \
            or not isinstance(data.get('rows'), list):
        raise ReportError('%s has schema %s, not %d: it was written by another version of this collection; rerun '
                          'the role on its hosts to rewrite it, or move it away'
                          % (name, data.get('schema_version', data.get('schema')), SCHEMA_VERSION))


def _upgraded_entry(summary, rows):
    """A schema 2 host summary as an entry: its verdict from its state and rows, no run time known."""
    state = summary.get('state')
    if state == 'ok':
        risky = [row for row in rows if row['protected'] is False]
        verdict = 'at_risk' if risky else 'protected'
        message = ('%d %s at risk' % (len(risky), 'row' if len(risky) == 1 else 'rows')) if risky else None
    else:
        verdict, message = ('not_run', NEVER_REACHED) if state == 'not run' else ('failed', str(state))
    entry = _entry(verdict, message, None, None)
    for key in ('strategy', 'range', 'reserved', 'reserved_outside_range', 'ephemeral_ports', 'netns', 'boot',
                'drift_missing'):
        entry[key] = summary.get(key)
    return entry


def _upgraded_row(row):
    held = '; '.join(str(text) for text in row.get('held_by') or [])
    return collections.OrderedDict((
        ('host', row['host']), ('service', row['service']), ('protocol', row['protocol']), ('port', row['port']),
        ('protected', row['protected']), ('message', str(row.get('status')) + ('; held by %s' % held if held else '')),
        ('holders', []), ('holder_count', len(row.get('held_by') or [])), ('note', row.get('note')),
        ('source', row.get('source')),
    ))


def upgrade(name, data):
    """A report as this schema: a schema 2 report (0.2.x) converted, its hosts kept without a run time."""
    if isinstance(data, dict) and data.get('generated_by') == GENERATED_BY and data.get('schema') == 2:
        try:
            rows = {}
            for row in data['rows']:
                rows.setdefault(row['host'], []).append(_upgraded_row(row))
            hosts = dict((host, (_upgraded_entry(summary, rows.get(host, [])), rows.get(host, [])))
                         for host, summary in data['hosts'].items())
        except (KeyError, TypeError, AttributeError):
            raise ReportError('%s is a schema 2 report that cannot be read; move it away' % name)
        return document(hosts, Meta('1970-01-01T00:00:00Z', '0.2', 'unknown', False))
    check_report(name, data)
    return data


def update(previous, fresh, play_hosts):
    """{host: (entry, rows)}: the hosts in ``fresh`` replaced, every other host of ``previous`` kept.

    A host of the play that is in neither is listed as not run.
    """
    hosts = dict(previous)
    hosts.update(fresh)
    for host in play_hosts:
        if host not in hosts:
            hosts[host] = never_reached()
    return hosts


def _age(entry):
    last = entry.get('last_run') if isinstance(entry, dict) else None
    return str(last.get('at') or '') if isinstance(last, dict) else ''


def merge(reports):
    """{host: (entry, rows)} of several reports [(name, data)]: for each host, its latest entry.

    A host in several reports keeps the entry of its latest run (``last_run.at``);
    on a tie, the report later in the list wins.
    """
    hosts = {}
    for name, data in reports:
        check_report(name, data)
        for host, item in entries_of(data).items():
            if host not in hosts or _age(item[0]) >= _age(hosts[host][0]):
                hosts[host] = item
    return hosts


def to_json(data):
    return json.dumps(data, indent=2, ensure_ascii=True) + '\n'


def state_of(data):
    """What ``changed`` compares: the hosts' state, without when and how each host last ran (nor its changes)."""
    hosts = dict((host, dict((key, value) for key, value in entry.items() if key not in ('last_run', 'changes')))
                 for host, entry in data['hosts'].items())
    return json.dumps({'hosts': hosts, 'rows': data['rows']}, sort_keys=True)
