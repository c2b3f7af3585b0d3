# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report: held ports, one schema and wording for apply, audit and check mode, parts, Markdown."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports
from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _report, _services


def port_set(canonical):
    """A port set as the modules return it, from its canonical string."""
    return _ports.port_set(_ports.parse_kernel_string(canonical))


def plan_for(services):
    plan, problems = _services.host_plan({'services': {'reserved_ports_services': services}, 'settings': {}})
    assert problems == [], problems
    return plan


def entry(port, holders=(), listeners=(), at_risk=False, reason='reserved'):
    return {'port': port, 'holders': list(holders), 'holder_count': len(holders), 'listeners': list(listeners),
            'listener_count': len(listeners), 'at_risk': at_risk, 'reason': reason}


CLIENT = {'protocol': 'tcp', 'state': 'ESTABLISHED', 'local': '127.0.0.1:36601', 'remote': '127.0.0.1:5000', 'uid': 0}
LISTENER = {'protocol': 'tcp', 'address': '0.0.0.0'}
BOOT = {'net.ipv4.ip_local_port_range': None,
        'net.ipv4.ip_local_reserved_ports': {'file': '/etc/sysctl.d/zz-portguard-ephemeral.conf', 'line': 3,
                                             'value': '36601,37601'}}
INFO_BOOT = {'net.ipv4.ip_local_port_range': {'value': '32768 60999', 'source': 'kernel default', 'file': None},
             'net.ipv4.ip_local_reserved_ports': {'value': '36601,37601', 'source': 'file', 'line': 3,
                                                  'file': '/etc/sysctl.d/zz-portguard-ephemeral.conf'}}


def applied(reserved='36601,37601', port_range=(32768, 60999), ports=None):
    """local_ports' result (apply, or check mode's planned values)."""
    return {'changed': True, 'range': {'before': [32768, 60999], 'after': list(port_range)},
            'reserved': {'before': port_set(''), 'after': port_set(reserved)}, 'ephemeral_ports': {'before': 28232, 'after': 28230},
            'netns': {'link': 'net:[1]', 'path': None}, 'boot': BOOT, 'warnings': ['w'],
            'ports': ports if ports is not None else [entry(36601), entry(37601)]}


def audited(reserved='36601,37601', ports=None):
    """local_ports_info's result for the same state."""
    return {'changed': False, 'range': [32768, 60999], 'ephemeral_ports': 28230,
            'reserved': port_set(reserved), 'boot': INFO_BOOT,
            'netns': {'link': 'net:[1]', 'path': None}, 'warnings': ['other'],
            'ports': ports if ports is not None else [entry(36601), entry(37601)]}


def one_host(plan, result, state=_report.STATE_OK):
    return _report.report(['h'], {'h': _report.host_summary('h', plan, result, state)})


def test_held_problems_only_without_a_listener():
    plan = plan_for([{'name': 'app', 'ports': [36601, 37601]}])
    result = {'ports': [entry(36601, [CLIENT]), entry(37601, [dict(CLIENT, local='127.0.0.1:37601')], [LISTENER])]}
    assert _report.held_problems(plan, result) == [
        'port 36601 (app) is held right now by a socket that is not its listener: tcp ESTABLISHED 127.0.0.1:36601 '
        '-> 127.0.0.1:5000 (uid 0). The service cannot bind it until that socket closes (an outgoing connection in '
        'TIME_WAIT keeps it 60 s); the reservation only stops the kernel from choosing it again']
    assert _report.held_problems(plan, {'skipped': True}) == []
    assert _report.held_problems(None, result) == []


def test_apply_and_audit_of_the_same_state_give_byte_identical_reports():
    plan = plan_for([{'name': 'app', 'ports': [36601, 37601]}])
    from_apply = one_host(plan, applied())
    from_audit = one_host(plan, audited())
    assert _report.to_json(from_apply) == _report.to_json(from_audit)
    assert _report.to_markdown(from_apply) == _report.to_markdown(from_audit)
    assert from_apply['hosts']['h'] == {
        'state': 'ok', 'strategy': 'reserve', 'range': [32768, 60999], 'reserved': '36601,37601',
        'ephemeral_ports': 28230, 'netns': None, 'reserved_outside_range': '', 'undeclared_listeners': [], 'drift_missing': None,
        'boot': {'net.ipv4.ip_local_port_range': {'value': None, 'file': None},
                 'net.ipv4.ip_local_reserved_ports': {'value': '36601,37601',
                                                      'file': '/etc/sysctl.d/zz-portguard-ephemeral.conf'}}}


def test_rows_use_the_modules_verdicts_and_name_holders():
    plan = plan_for([{'name': 'app', 'ports': [36601, 37601]}, {'name': 'admin', 'port': '40000-40001'}])
    ports = [entry(36601, [CLIENT], at_risk=True, reason='held by an outgoing connection'), entry(37601),
             entry(40000, at_risk=True, reason='in the ephemeral range and not reserved'),
             entry(40001, at_risk=True, reason='in the ephemeral range and not reserved')]
    data = _report.report(['h1', 'h2', 'h3'], {
        'h1': _report.host_summary('h1', plan, applied(ports=ports), _report.STATE_OK),
        'h2': _report.host_summary('h2', None, None, _report.STATE_FAILED)})
    rows = [(r['host'], r['service'], r['port'], r['protected'], r['status'], r['held_by']) for r in data['rows']]
    assert rows == [
        ('h1', 'app', 36601, False, 'held by an outgoing connection',
         ['tcp ESTABLISHED 127.0.0.1:36601 -> 127.0.0.1:5000 (uid 0)']),
        ('h1', 'app', 37601, True, 'reserved', []),
        ('h1', 'admin', '40000-40001', False, 'ports 40000-40001: in the ephemeral range and not reserved', []),
    ]
    assert data['hosts']['h2']['state'] == 'failed or unreachable'
    assert data['hosts']['h3']['state'] == 'not run'
    assert data['parts'] == [{'name': 'all', 'hosts': 3}]


def test_without_socket_verdicts_the_same_wording_from_the_numbers():
    plan = plan_for([{'name': 'app', 'port': 36601}])
    assert one_host(plan, {'skipped': True})['rows'][0]['status'] == 'unknown: no kernel values from this host'
    moved = one_host(plan, applied('', (40000, 60999), ports=[]))['rows'][0]
    assert (moved['protected'], moved['status']) == (True, 'outside the ephemeral range')
    exposed = one_host(plan, applied('', ports=[]))['rows'][0]
    assert (exposed['protected'], exposed['status']) == (False, 'in the ephemeral range and not reserved')
    reserved = one_host(plan, applied('36601', (40000, 60999), ports=[]))
    assert reserved['rows'][0]['status'] == 'reserved'
    assert reserved['hosts']['h']['reserved_outside_range'] == '36601'


def test_markdown_cells_cannot_break_the_table_or_inject_html():
    plan = plan_for([{'name': 'evil\r| h9 | fake | tcp | 1 | yes |\n<script>x</script>', 'port': 36601,
                      'note': 'a|b'}])
    text = _report.to_markdown(one_host(plan, applied('36601', ports=[])))
    table = [line for line in text.splitlines() if line.startswith('| h |') or line.startswith('| h9')]
    assert len(table) == 2, text  # one row, one host line
    assert '<script>' not in text and '&lt;script&gt;' in text
    assert '\r' not in text
    assert 'evil \\| h9 \\| fake' in text


def test_merge_parts_and_refuse_overlaps():
    plan = plan_for([{'name': 'app', 'port': 36601}])
    part_a = _report.report(['a1'], {'a1': _report.host_summary('a1', plan, applied('36601'), 'ok')}, {'name': 'a'})
    part_b = _report.report(['b1'], {'b1': _report.host_summary('b1', plan, applied('36601'), 'ok')}, {'name': 'b'})
    merged = _report.merge([('b.json', json.loads(_report.to_json(part_b))), ('a.json', part_a)])
    assert sorted(merged['hosts']) == ['a1', 'b1']
    assert [row['host'] for row in merged['rows']] == ['a1', 'b1']
    assert [part['name'] for part in merged['parts']] == ['a', 'b']
    assert _report.to_json(merged) == _report.to_json(_report.merge([('a.json', part_a), ('b.json', part_b)]))
    with pytest.raises(_report.ReportError, match='host a1 is in two parts: a.json and again.json'):
        _report.merge([('a.json', part_a), ('again.json', part_a)])
    with pytest.raises(_report.ReportError, match='x.json is not a report'):
        _report.merge([('x.json', {'rows': []})])


NODE = {'port': 45000, 'protocol': 'tcp', 'address': '0.0.0.0', 'local': '0.0.0.0:45000', 'uid': 1001, 'inode': 7,
        'process': {'pid': 2210, 'comm': 'node', 'uid': 1001, 'user': 'app'},
        'processes': [{'pid': 2210, 'comm': 'node', 'uid': 1001, 'user': 'app'}], 'process_count': 1,
        'no_process': None, 'binds_port_zero_likely': False}
STATD = dict(NODE, port=45871, protocol='udp', local='0.0.0.0:45871', binds_port_zero_likely=True,
             process={'pid': 611, 'comm': 'rpc.statd', 'uid': 0, 'user': 'root'},
             processes=[{'pid': 611, 'comm': 'rpc.statd', 'uid': 0, 'user': 'root'}])


def test_undeclared_listeners_are_listed_named_and_can_be_ignored():
    plan = plan_for([{'name': 'app', 'port': 36601}])
    result = dict(applied('36601'), unreserved_listeners=[STATD, NODE])
    found = _report.undeclared_listeners(plan, result)
    assert found == [
        {'port': 45000, 'protocol': 'tcp', 'local': '0.0.0.0:45000', 'process': 'node (pid 2210, user app)',
         'declared': False, 'moves_on_restart': False},
        {'port': 45871, 'protocol': 'udp', 'local': '0.0.0.0:45871', 'process': 'rpc.statd (pid 611, user root)',
         'declared': False, 'moves_on_restart': True}]
    # Only the one that stays on its port is worth a warning or a failure.
    assert _report.listener_problems(found) == [
        'port 45000 (tcp 0.0.0.0:45000) is listened on by node (pid 2210, user app) inside the ephemeral range and '
        'is not reserved: an outgoing connection can take it while the service is down. Declare it in '
        'reserved_ports_services, or add it to reserved_ports_ignore_listeners']
    ignoring, problems = _services.host_plan({'services': {'reserved_ports_services': [{'name': 'app', 'port': 36601}]},
                                              'settings': {'ignore_listeners': ['45000-45001', 'rpc.statd']}})
    assert problems == [] and _report.undeclared_listeners(ignoring, result) == []
    text = _report.to_markdown(one_host(plan, result))
    assert '## Listening inside the ephemeral range and not reserved' in text
    assert '| h | 45000 | tcp | 0.0.0.0:45000 | node (pid 2210, user app) | no | no |' in text


def test_holders_name_their_process_or_say_there_is_none():
    owned = dict(CLIENT, process={'pid': 4242, 'comm': 'curl', 'uid': 0, 'user': 'root'}, process_count=1)
    waiting = dict(CLIENT, state='TIME_WAIT', process=None, no_process='kernel_only')
    assert _report._holder_text(owned) == ('tcp ESTABLISHED 127.0.0.1:36601 -> 127.0.0.1:5000 by curl '
                                           '(pid 4242, user root)')
    assert _report._holder_text(waiting) == ('tcp TIME_WAIT 127.0.0.1:36601 -> 127.0.0.1:5000 '
                                             '(no process: the kernel holds it alone)')


def test_drift_of_an_audit_is_said_and_reported():
    plan = plan_for([{'name': 'app', 'ports': [36601, 37601]}])
    result = dict(audited(''), drift={'detected': True, 'range': {'live': [32768, 60999], 'boot': [32768, 60999]},
                                      'reserved': {'missing': port_set('36601,37601'), 'extra': port_set('')}})
    assert _report.drift_problems(result) == [
        'ports 36601,37601 are reserved at boot but not live: something changed net.ipv4.ip_local_reserved_ports '
        'since (another tool, sysctl -w or a truncating sysctl -p); rerun the role to restore them']
    data = one_host(plan, result)
    assert data['hosts']['h']['drift_missing'] == '36601,37601'
    assert '| h | ok | reserve | 32768-60999 |  | 28230 |  | 36601,37601 |' in _report.to_markdown(data)
    assert _report.drift_problems(audited()) == []
