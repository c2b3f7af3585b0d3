# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as Markdown: counts, hosts needing attention, every host, then the details, host by host.

Controller-side and private.  Text that came from inventory or from a host
(host and service names, notes, process names, messages) is always written as
a code span, so no renderer turns it into a link, an image, HTML, a mention,
emphasis or any other markup; control, format (bidi) and surrogate characters
become U+FFFD first.  The report's own words and numbers are written plainly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import unicodedata

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _findings

# Pressure rows shown in the Markdown, the fleet's tightest first; the JSON keeps every host's.
PRESSURE_ROWS = 50
PRESSURE_PER_HOST = 3
REPLACEMENT = u'\ufffd'
_SAFE_PLAIN = re.compile(r'^[A-Za-z0-9 ,.:_\-]*$')
_BACKTICKS = re.compile(r'`+')
HEADS = {
    'attention': ('host', 'verdict', 'ports at risk', 'why', 'last run'),
    'hosts': ('host', 'verdict', 'last run', 'strategy', 'ephemeral range', 'reserved', 'free ephemeral ports',
              'reserved outside the range', 'reserved at boot, lost live', 'boot chain'),
    'rows': ('host', 'service', 'protocol', 'port', 'protected', 'why', 'held by', 'note'),
    'changes': ('host', 'ephemeral range', 'added', 'released', 'persisted to'),
    'listeners': ('host', 'port', 'protocol', 'address', 'process', 'declared', 'moves on restart'),
    'owners': ('host', 'owner', 'ports', 'count'),
    'pressure': ('host', 'protocol', 'destination', 'local address', 'in use', 'left', 'states'),
}


def clean(text):
    """One line of text: whitespace runs become one space; control, format and surrogate characters U+FFFD."""
    out = []
    for char in text:
        category = unicodedata.category(char)
        if char.isspace() or category in ('Zl', 'Zp'):
            out.append(' ')
        elif category in ('Cc', 'Cf', 'Cs'):
            out.append(REPLACEMENT)
        else:
            out.append(char)
    return ' '.join(''.join(out).split())


def code(value):
    """A code span (table-safe) of any text from inventory or a host; '' for nothing."""
    if value is None:
        return ''
    text = clean(value if isinstance(value, str) else str(value)).replace('|', '\\|')
    if not text:
        return ''
    longest = max([len(run) for run in _BACKTICKS.findall(text)] or [0])
    fence = '`' * (longest + 1)
    pad = ' ' if text.startswith('`') or text.endswith('`') else ''
    return fence + pad + text + pad + fence


def plain(value):
    """The report's own values (numbers, yes/no, words, times, port lists) as they are; anything else as code."""
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return text if _SAFE_PLAIN.match(text) else code(text)


def _table(kind, rows):
    head = HEADS[kind]
    lines = ['| %s |' % ' | '.join(head), '|%s' % ('---|' * len(head))]
    lines.extend('| %s |' % ' | '.join(cells) for cells in rows)
    return lines


def _last_run(entry):
    last = entry.get('last_run')
    if not isinstance(last, dict):
        return 'never'
    return plain('%s, %s, %s' % (last.get('at'), last.get('mode'), last.get('outcome')))


def _verdict(entry):
    return plain(str(entry['verdict']).replace('_', ' '))


def _range(value):
    return plain('-'.join(str(port) for port in value)) if isinstance(value, list) and value else ''


def _header(data):
    preview = data.get('check_mode')
    lines = ['# Reserved service ports%s' % (' (check mode: a preview, nothing was changed)' if preview else ''), '']
    if preview:
        changing = [host for host, entry in sorted(data['hosts'].items())
                    if entry.get('changes') and (entry.get('last_run') or {}).get('mode') == 'preview']
        lines += ['This preview shows the hosts of this run as they would be after it. Hosts that would change: %s.'
                  % (', '.join(code(host) for host in changing) or 'none'), '']
    lines += ['Written %s by %s %s on ansible-core %s (report schema %s).' % (
        plain(data['generated_at']), plain(data['generated_by']), plain(data['collection_version']),
        plain(data['ansible_core_version']), plain(data['schema_version'])), '']
    counts = [plain(data['counts'][key]) for key in ('protected', 'at_risk', 'failed', 'unreachable', 'not_run')]
    lines += ['| protected | at risk | failed | unreachable | not run |', '|---|---|---|---|---|',
              '| %s |' % ' | '.join(counts)]
    return lines


def _attention(data):
    lines = ['', '## Hosts needing attention', '']
    if not data['attention']:
        return lines + ['None: every host is protected.']
    rows = []
    for host in sorted(data['attention']):
        entry = data['hosts'][host]
        rows.append((code(host), _verdict(entry), plain(entry.get('at_risk_ports')), code(entry.get('message')),
                     _last_run(entry)))
    return lines + _table('attention', rows)


def _hosts(data):
    rows = []
    for host in sorted(data['hosts']):
        entry = data['hosts'][host]
        rows.append((code(host), _verdict(entry), _last_run(entry), plain(entry.get('strategy')),
                     _range(entry.get('range')), plain(entry.get('reserved')), plain(entry.get('ephemeral_ports')),
                     plain(entry.get('reserved_outside_range')), plain(entry.get('drift_missing')),
                     _chain(entry.get('boot_chain'))))
    return ['', '## All hosts', ''] + _table('hosts', rows)


def _chain(chain):
    """``systemd-sysctl, tuned (profile x)`` (names and profiles from the hosts: code spans)."""
    return ', '.join(code(item['name']) + (' (profile %s)' % code(item['profile']) if item.get('profile') else '')
                     for item in chain or [])


def _protected(value):
    return 'unknown' if value is None else ('yes' if value else 'NO')


def _held(row):
    holders = row.get('holders') or []
    if not holders:
        return ''
    return code(_findings.sockets_text(holders, row.get('holder_count') or len(holders), len(holders)))


def _rows(data):
    rows = [(code(row['host']), code(row['service']), plain(row['protocol']), plain(row['port']),
             _protected(row['protected']), code(row['message']), _held(row), code(row.get('note')))
            for row in data['rows']]
    return ['', '## Service ports', ''] + _table('rows', rows)


def _changes(data):
    rows = []
    for host in sorted(data['hosts']):
        changes = data['hosts'][host].get('changes')
        if not changes:
            continue
        moved = changes.get('range')
        rows.append((code(host), plain('%s -> %s' % ('-'.join(map(str, moved['before'] or [])),
                                                     '-'.join(map(str, moved['after'] or [])))) if moved else '',
                     plain(changes.get('added')),
                     plain(changes.get('released')), code(changes.get('file'))))
    if not rows:
        return []
    title = 'What would change' if data.get('check_mode') else 'What each host\'s last run changed'
    return ['', '## %s' % title, ''] + _table('changes', rows)


def _listeners(data):
    rows = []
    for host in sorted(data['hosts']):
        for item in data['hosts'][host].get('undeclared_listeners') or []:
            rows.append((code(host), plain(item['port']), plain(item.get('protocol')), code(item.get('local')),
                         code(_findings.process_text(item)), plain(item.get('declared')),
                         plain(item.get('moves_on_restart'))))
    return ['', '## Listening inside the ephemeral range and not reserved', ''] + _table('listeners', rows) if rows else []


def _owners(data):
    rows = []
    for host in sorted(data['hosts']):
        for owner, ports in sorted((data['hosts'][host].get('owners') or {}).items()):
            rows.append((code(host), code(owner), plain(ports.get('canonical')), plain(ports.get('count'))))
    return ['', '## Owners of the reserved ports', ''] + _table('owners', rows) if rows else []


def _destination_rows(data):
    found = []
    for host in sorted(data['hosts']):
        pressure = data['hosts'][host].get('pressure') or {}
        for item in (pressure.get('destinations') or [])[:PRESSURE_PER_HOST]:
            left = item.get('left')
            found.append((left if isinstance(left, int) else 1 << 30, host, item))
    found.sort(key=lambda found_item: (found_item[0], found_item[1]))
    return found


def _pressure(data):
    found = _destination_rows(data)
    if not found:
        return []
    rows = []
    for _left, host, item in found[:PRESSURE_ROWS]:
        states = ', '.join('%s %s' % (state, count) for state, count in sorted((item.get('states') or {}).items()))
        rows.append((code(host), plain(item.get('protocol')),
                     code('%s:%s' % (item.get('remote_address'), item.get('remote_port'))),
                     code(item.get('local_address')), plain(item.get('in_use')), plain(item.get('left')), code(states)))
    lines = ['', '## Ephemeral port pressure: the tightest destinations, fewest ports left first', '']
    lines += _table('pressure', rows)
    if len(found) > PRESSURE_ROWS:
        lines += ['', 'And %d more destinations in the JSON report.' % (len(found) - PRESSURE_ROWS)]
    return lines


def to_markdown(data):
    """The Markdown of a report (``_report.document``)."""
    lines = _header(data) + _attention(data) + _hosts(data) + _rows(data)
    for section in (_changes, _listeners, _owners, _pressure):
        lines += section(data)
    return '\n'.join(lines) + '\n'
