# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Markdown report: one order, readable as text, and no way for inventory or host text to become markup."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import unicodedata

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports
from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _report, _report_markdown, _services

HOSTILE = [
    '[click me](javascript:alert(1))',
    '![pixel](https://attacker.example/p.png)',
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '**bold** _em_ ~~strike~~ *x*',
    u'evil\u202egnp.exe',
    u'\u2066isolated\u2069 \u200bzero\ufeffwidth \u061cmark \x1b[31mred',
    'a|b\\|c',
    'back`tick``s',
    '`edge`',
    'line\nbreak\r\n| h9 | fake | tcp | 1 | yes |',
    'https://attacker.example/x www.attacker.example user@attacker.example',
    '@someone #123 !45 &#x202E; &lt; $x$ :rocket:',
    'trailing\\',
]
T1 = '2026-01-01T10:00:00Z'
META = _report.Meta('2026-01-02T10:00:00Z', '0.3.0', '2.19.14', False)


def port_set(canonical):
    return _ports.port_set(_ports.parse_kernel_string(canonical))


def hostile_report():
    services = [{'name': name, 'port': 36601 + index, 'note': name} for index, name in enumerate(HOSTILE)]
    plan, problems = _services.host_plan({'services': {'reserved_ports_services': services}, 'settings': {}})
    assert problems == []
    holder = {'protocol': 'tcp', 'state': 'ESTABLISHED', 'local': '127.0.0.1:36601', 'remote': '127.0.0.1:5000',
              'uid': 0, 'process': {'pid': 1, 'comm': HOSTILE[0], 'uid': 0, 'user': HOSTILE[5]}, 'process_count': 1}
    listener = dict(holder, port=45000, local='0.0.0.0:45000', state=None, remote=None, binds_port_zero_likely=False,
                    process={'pid': 2, 'comm': HOSTILE[1], 'uid': 0, 'user': 'root'})
    ports = [{'port': 36601 + index, 'holders': [holder] if index == 0 else [], 'holder_count': int(index == 0),
              'listeners': [], 'listener_count': 0, 'at_risk': index == 0, 'reason': HOSTILE[index]}
             for index in range(len(HOSTILE))]
    result = {'changed': False, 'range': [32768, 60999], 'reserved': port_set(plan['ports'] and '36602-36614'),
              'ephemeral_ports': 28219, 'ports': ports, 'unreserved_listeners': [listener], 'plan': plan,
              'owners': {HOSTILE[2]: port_set('36602')},
              'pressure': {'range': [32768, 60999], 'effective': 28219, 'destination_count': 1, 'limit': 20,
                           'destinations': [{'protocol': 'tcp', 'remote_address': HOSTILE[6], 'remote_port': 5432,
                                             'local_address': HOSTILE[3], 'in_use': 9, 'left': 28210,
                                             'states': {HOSTILE[4]: 9}}]}}
    hosts = {}
    for host in ('web1', HOSTILE[0], HOSTILE[10]):
        hosts[host] = _report.reached_host(host, result, _report.Run(T1, 'audit', HOSTILE[2], 'r'))
    hosts['db1'] = _report.reached_host('db1', {'failed': True, 'msg': HOSTILE[3] + HOSTILE[5]},
                                        _report.Run(T1, 'apply', 'all', 'r'))
    return _report.document(hosts, META)


CELL = re.compile(r'(?<!\\)\|')


def cells(line):
    """The cells of a table line, split as GFM does: at every pipe not escaped by a backslash."""
    return [cell.strip() for cell in CELL.split(line)[1:-1]]


def is_code_span(cell):
    match = re.match(r'^(`+)(.*?)(`+)$', cell)
    if not match or match.group(1) != match.group(3):
        return False
    inner = match.group(2)
    return all(len(run) != len(match.group(1)) for run in re.findall(r'`+', inner))


def test_text_from_inventory_or_hosts_is_always_a_code_span_and_the_table_holds(valid):
    data = valid(hostile_report())
    text = _report_markdown.to_markdown(data)
    for char in text:
        assert unicodedata.category(char) not in ('Cc', 'Cf', 'Cs') or char == '\n', repr(char)
    for line in text.splitlines():
        if not line.startswith('|'):
            assert '<' not in line and '[' not in line, line  # prose lines: only the report's own words
            continue
        for cell in cells(line):
            assert re.match(r'^[A-Za-z0-9 ,.:_\-]*$', cell) or is_code_span(cell), (cell, line)
    # Every service row is one row of 8 cells (no line break or pipe made another row or cell).
    section = text.split('## Service ports')[1].split('\n## ')[0]
    service_rows = [line for line in section.splitlines() if line.startswith('| `web1` |')]
    assert len(service_rows) == len(HOSTILE) and all(len(cells(line)) == 8 for line in service_rows)
    assert 'h9' not in [cells(line)[0] for line in text.splitlines() if line.startswith('|')]


def test_a_markdown_renderer_makes_no_link_image_html_or_emphasis_of_it():
    markdown_it = pytest.importorskip('markdown_it')
    text = _report_markdown.to_markdown(hostile_report())
    html = markdown_it.MarkdownIt('commonmark', {'html': True, 'linkify': False}).enable(
        ['table', 'strikethrough']).render(text)
    for tag in ('<a ', '<img', '<script', '<em>', '<strong>', '<s>', '<del>'):
        assert tag not in html, tag
    assert '&lt;script&gt;alert(1)&lt;/script&gt;' in html  # shown, as code
    assert u'\u202e' not in html and u'\ufffd' in html
    # Each table row keeps its columns (a pipe or line break in a name never adds one).
    for row in re.findall(r'<tr>(.*?)</tr>', html, re.S):
        assert row.count('<td') in (0, 5, 8, 10, 7, 4), row


def test_code_spans_carry_backticks_pipes_and_edges():
    assert _report_markdown.code('a`b') == '``a`b``'
    assert _report_markdown.code('`x`') == '`` `x` ``'
    assert _report_markdown.code('a|b') == '`a\\|b`'
    assert _report_markdown.code('  spaced\tout\n') == '`spaced out`'
    assert _report_markdown.code(u'rl\u202eo') == u'`rl\ufffdo`'
    assert _report_markdown.code('') == '' and _report_markdown.code(None) == ''
    assert _report_markdown.plain('32768-60999') == '32768-60999'
    assert _report_markdown.plain('<b>') == '`<b>`'


def test_one_order_and_no_escaping_artefacts():
    plan, _problems = _services.host_plan({'services': {'reserved_ports_services': [
        {'name': 'z-last', 'port': 9000}, {'name': 'a-first', 'port': 40000}, {'name': 'm', 'port': 5000}]},
        'settings': {}})
    result = {'changed': False, 'range': [32768, 60999], 'reserved': port_set('5000,9000,40000'), 'plan': plan,
              'ports': [{'port': port, 'at_risk': False, 'reason': 'reserved', 'holders': [], 'listeners': []}
                        for port in (5000, 9000, 40000)]}
    held = dict(result, ports=[{'port': 5000, 'at_risk': True, 'reason': 'held', 'holder_count': 1, 'listeners': [],
                                'holders': [{'protocol': 'tcp', 'state': 'ESTABLISHED', 'local': '127.0.0.1:5000',
                                             'remote': '10.0.0.9:443', 'uid': 0}]}] + result['ports'][1:])
    data = _report.document({'b': _report.reached_host('b', result, _report.Run(T1, 'apply', 'all', 'r')),
                             'a': _report.reached_host('a', held, _report.Run(T1, 'apply', 'all', 'r'))}, META)
    text = _report_markdown.to_markdown(data)
    rows = [cells(line)[:4] for line in text.split('## Service ports')[1].splitlines() if line.startswith('| `')]
    assert [(row[0], row[3]) for row in rows] == [('`a`', '5000'), ('`a`', '9000'), ('`a`', '40000'),
                                                  ('`b`', '5000'), ('`b`', '9000'), ('`b`', '40000')]
    assert '-&gt;' not in text and '&lt;' not in text and '\\-' not in text
    assert '`tcp ESTABLISHED 127.0.0.1:5000 -> 10.0.0.9:443 (uid 0)`' in text
    # Counts first, then the hosts needing attention, then every host.
    assert text.index('| protected | at risk |') < text.index('## Hosts needing attention') < text.index('## All hosts')
    assert '| 1 | 1 | 0 | 0 | 0 |' in text
    assert '| `a` | at risk | 1 | `1 port at risk: 5000 (m): held` |' in text


def test_pressure_lists_the_fleets_tightest_destinations_first_and_owners_per_host():
    def result(lefts):
        destinations = [{'protocol': 'tcp', 'remote_address': '10.0.0.%d' % left, 'remote_port': 443, 'local_address': None,
                         'in_use': 100, 'left': left, 'states': {'TIME_WAIT': 100}} for left in lefts]
        return {'changed': False, 'range': [32768, 60999], 'reserved': port_set(''), 'ports': [],
                'owners': {'reserved_ports': port_set('36601')},
                'pressure': {'range': [32768, 60999], 'effective': 28232, 'destination_count': len(lefts), 'limit': 20,
                             'destinations': destinations}}
    data = _report.document({'a': _report.reached_host('a', result([90, 5, 70, 60]), _report.Run(T1, 'audit', 'all', 'r')),
                             'b': _report.reached_host('b', result([30]), _report.Run(T1, 'audit', 'all', 'r'))}, META)
    text = _report_markdown.to_markdown(data)
    section = text.split('## Ephemeral port pressure')[1]
    rows = [(cells(line)[0], cells(line)[5]) for line in section.splitlines() if line.startswith('| `')]
    # Each host's three tightest, the fleet's worst first.
    assert rows == [('`a`', '5'), ('`b`', '30'), ('`a`', '60'), ('`a`', '70')]
    assert '| `a` | `reserved_ports` | 36601 | 1 |' in text and '| `b` | `reserved_ports` | 36601 | 1 |' in text
