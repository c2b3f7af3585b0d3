# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report: verdicts, rows, the update and merge rules, schema 2 reports, the shipped schema."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports
from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _findings, _report, _services


def port_set(canonical):
    """A port set as the modules return it, from its canonical string."""
    return _ports.port_set(_ports.parse_kernel_string(canonical))


def plan_for(services, **settings):
    plan, problems = _services.host_plan({'services': {'reserved_ports_services': services}, 'settings': settings})
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
APP = [{'name': 'app', 'ports': [36601, 37601]}]
T1, T2, T3 = '2026-01-01T10:00:00Z', '2026-01-02T10:00:00Z', '2026-01-03T10:00:00Z'
META = _report.Meta(T3, '0.3.0', '2.19.14', False)


def run(at=T1, mode='apply', part='all', run_id='r1'):
    return _report.Run(at, mode, part, run_id)


def applied(reserved='36601,37601', port_range=(32768, 60999), ports=None, plan=None, **more):
    """local_ports' result (apply, or check mode's planned values), with the plan the apply step adds."""
    result = {'changed': True, 'range': {'before': [32768, 60999], 'after': list(port_range)},
              'reserved': {'before': port_set(''), 'after': port_set(reserved)}, 'added': port_set(reserved),
              'released': port_set(''), 'ephemeral_ports': {'before': 28232, 'after': 28230},
              'netns': {'link': 'net:[1]', 'path': None}, 'boot': BOOT, 'warnings': ['w'], 'file_changed': True,
              'persisted_file': '/etc/sysctl.d/zz-portguard-ephemeral.conf',
              'ports': ports if ports is not None else [entry(36601), entry(37601)], 'plan': plan or plan_for(APP)}
    result.update(more)
    return result


def audited(reserved='36601,37601', ports=None, plan=None, **more):
    """local_ports_info's result for the same state."""
    result = {'changed': False, 'range': [32768, 60999], 'ephemeral_ports': 28230,
              'reserved': port_set(reserved), 'boot': INFO_BOOT,
              'netns': {'link': 'net:[1]', 'path': None}, 'warnings': ['other'],
              'ports': ports if ports is not None else [entry(36601), entry(37601)], 'plan': plan or plan_for(APP)}
    result.update(more)
    return result


def one_host(result, host='h', at=T1):
    return _report.document({host: _report.reached_host(host, result, run(at))}, META)


def test_held_problems_only_without_a_listener():
    plan = plan_for(APP)
    result = {'ports': [entry(36601, [CLIENT]), entry(37601, [dict(CLIENT, local='127.0.0.1:37601')], [LISTENER])],
              'range': [32768, 60999]}
    assert _findings.held_problems(plan, result) == [
        'port 36601 (app) is held right now by a socket that is not its listener: tcp ESTABLISHED 127.0.0.1:36601 '
        '-> 127.0.0.1:5000 (uid 0). The service cannot bind it until that socket closes (an outgoing connection in '
        'TIME_WAIT keeps it 60 s); the reservation only stops the kernel from choosing it again']
    assert _findings.held_problems(plan, {'skipped': True}) == []
    assert _findings.held_problems(None, result) == []


def test_apply_and_audit_of_the_same_state_agree_except_how_they_ran(valid):
    from_apply = valid(one_host(applied()))
    from_audit = valid(one_host(audited()))
    assert from_apply['rows'] == from_audit['rows']
    apply_host, audit_host = from_apply['hosts']['h'], from_audit['hosts']['h']
    assert (apply_host['last_run']['outcome'], audit_host['last_run']['outcome']) == ('changed', 'unchanged')
    assert apply_host['changes'] == {'range': None, 'added': '36601,37601', 'released': '',
                                     'file': '/etc/sysctl.d/zz-portguard-ephemeral.conf'}
    assert audit_host['changes'] is None
    assert _report.state_of(from_apply) == _report.state_of(from_audit)
    assert dict(apply_host, last_run=None, changes=None) == {
        'verdict': 'protected', 'message': None, 'at_risk_ports': 0, 'last_run': None, 'changes': None,
        'strategy': 'reserve', 'range': [32768, 60999], 'reserved': '36601,37601', 'reserved_outside_range': '',
        'ephemeral_ports': 28230, 'netns': None, 'drift_missing': None, 'undeclared_listeners': [], 'owners': None,
        'pressure': None, 'boot_chain': None,
        'boot': {'net.ipv4.ip_local_port_range': {'value': None, 'file': None},
                 'net.ipv4.ip_local_reserved_ports': {'value': '36601,37601',
                                                      'file': '/etc/sysctl.d/zz-portguard-ephemeral.conf'}}}


def test_rows_use_the_modules_verdicts_with_structured_holders(valid):
    plan = plan_for([{'name': 'app', 'ports': [36601, 37601]}, {'name': 'admin', 'port': '40000-40001'}])
    owned = dict(CLIENT, process={'pid': 4242, 'comm': 'curl', 'uid': 0, 'user': 'root'}, process_count=1)
    ports = [entry(36601, [owned], at_risk=True, reason='held by an outgoing connection'), entry(37601),
             entry(40000, at_risk=True, reason='in the ephemeral range and not reserved'),
             entry(40001, at_risk=True, reason='in the ephemeral range and not reserved')]
    data = valid(one_host(applied(ports=ports, plan=plan)))
    rows = [(r['port'], r['protected'], r['message'], r['holder_count']) for r in data['rows']]
    assert rows == [(36601, False, 'held by an outgoing connection', 1), (37601, True, 'reserved', 0),
                    ('40000-40001', False, 'ports 40000-40001: in the ephemeral range and not reserved', 0)]
    assert data['rows'][0]['holders'] == [{
        'protocol': 'tcp', 'state': 'ESTABLISHED', 'local': '127.0.0.1:36601', 'remote': '127.0.0.1:5000', 'uid': 0,
        'pid': 4242, 'comm': 'curl', 'user': 'root', 'process_count': 1, 'no_process': None}]
    host = data['hosts']['h']
    assert (host['verdict'], host['at_risk_ports']) == ('at_risk', 3)
    assert host['message'] == ('3 ports at risk: 36601 (app): held by an outgoing connection; 40000-40001 (admin): '
                               'ports 40000-40001: in the ephemeral range and not reserved')
    assert data['counts'] == {'protected': 0, 'at_risk': 1, 'failed': 0, 'unreachable': 0, 'not_run': 0}
    assert data['attention'] == ['h']


def test_without_socket_verdicts_the_same_wording_from_the_numbers():
    plan = plan_for([{'name': 'app', 'port': 36601}])
    moved = one_host(applied('', (40000, 60999), ports=[], plan=plan))['rows'][0]
    assert (moved['protected'], moved['message']) == (True, 'outside the ephemeral range')
    exposed = one_host(applied('', ports=[], plan=plan))
    assert (exposed['rows'][0]['protected'], exposed['rows'][0]['message']) == (False, 'in the ephemeral range and not reserved')
    assert exposed['hosts']['h']['verdict'] == 'at_risk'
    reserved = one_host(applied('36601', (40000, 60999), ports=[], plan=plan))
    assert reserved['rows'][0]['message'] == 'reserved'
    assert reserved['hosts']['h']['reserved_outside_range'] == '36601'


@pytest.mark.parametrize('result, verdict, outcome, message', [
    ({'failed': True, 'msg': 'netns: /run/netns/x: No such file', 'plan': plan_for(APP)},
     'failed', 'failed', 'netns: /run/netns/x: No such file'),
    ({'failed': True, 'msg': 'reserved_ports: 1 problem(s) ...'}, 'failed', 'failed', 'reserved_ports: 1 problem(s) ...'),
    ({'unreachable': True, 'msg': 'ssh: connect to host 10.0.0.9 port 22: Connection refused', 'plan': plan_for(APP)},
     'unreachable', 'unreachable', 'ssh: connect to host 10.0.0.9 port 22: Connection refused'),
    ({'skipped': True, 'blocked_by': ['h9'], 'msg': 'reserved_ports: not changed: host h9 has problems'},
     'not_run', 'blocked', 'reserved_ports: not changed: host h9 has problems'),
], ids=['failed-apply', 'own-problems', 'unreachable', 'blocked'])
def test_every_host_gets_a_verdict_and_says_why(valid, result, verdict, outcome, message):
    data = valid(one_host(result))
    host = data['hosts']['h']
    assert (host['verdict'], host['last_run']['outcome'], host['message']) == (verdict, outcome, message)
    assert data['counts'][verdict] == 1 and data['attention'] == ['h']
    # With a plan, the rows are there, each saying that its state is not known.
    assert [(row['port'], row['protected']) for row in data['rows']] == ([(36601, None), (37601, None)] if 'plan' in result else [])
    assert all(row['message'] == 'unknown: %s' % verdict.replace('_', ' ') for row in data['rows'])


def test_a_failed_apply_with_values_keeps_its_rows_and_error(valid):
    result = applied(ports=[entry(36601, [CLIENT], at_risk=True, reason='held'), entry(37601)], failed=True,
                     msg='reserved_ports: 1 problem(s) with the service ports on this host')
    host = valid(one_host(result))['hosts']['h']
    assert (host['verdict'], host['at_risk_ports'], host['message']) == (
        'failed', 1, 'reserved_ports: 1 problem(s) with the service ports on this host')
    assert host['range'] == [32768, 60999]


def test_a_blocked_host_keeps_its_earlier_entry_and_a_result_without_values_says_nothing():
    earlier = _report.reached_host('h', applied(), run(T1))
    blocked = {'skipped': True, 'blocked_by': ['h9'], 'msg': 'not changed', 'plan': plan_for(APP)}
    assert _report.reached_host('h', blocked, run(T2), earlier) is earlier
    assert _report.reached_host('h', blocked, run(T2), _report.never_reached())[0]['last_run']['outcome'] == 'blocked'
    assert _report.reached_host('h', {'changed': False, 'plan': plan_for(APP)}, run(T2)) is None


def test_update_replaces_the_hosts_of_the_run_and_keeps_the_others_with_their_ages(valid):
    first = valid(_report.document(_report.update({}, {
        'a': _report.reached_host('a', applied(), run(T1)),
        'b': _report.reached_host('b', applied(), run(T1)),
    }, ['a', 'b']), META))
    # --limit b, a day later, with b now at risk: only b changes; a keeps its rows and its age.
    later = applied(ports=[entry(36601, [CLIENT], at_risk=True, reason='held'), entry(37601)])
    second = valid(_report.document(_report.update(_report.entries_of(json.loads(_report.to_json(first))), {
        'b': _report.reached_host('b', later, run(T2, part='b')),
    }, ['b']), META))
    assert second['hosts']['a'] == first['hosts']['a']
    assert [row for row in second['rows'] if row['host'] == 'a'] == [row for row in first['rows'] if row['host'] == 'a']
    assert (second['hosts']['a']['last_run']['at'], second['hosts']['b']['last_run']['at']) == (T1, T2)
    assert second['hosts']['b']['verdict'] == 'at_risk' and second['hosts']['b']['last_run']['part'] == 'b'
    # Attention first, then the rest; rows by host, then port.
    assert list(second['hosts']) == ['b', 'a'] and second['attention'] == ['b']
    assert [(row['host'], row['port']) for row in second['rows']] == [('a', 36601), ('a', 37601), ('b', 36601), ('b', 37601)]
    assert list(second)[:9] == ['schema_version', 'generated_by', 'generated_at', 'collection_version',
                                'ansible_core_version', 'check_mode', 'message', 'counts', 'attention']
    # A host of the play that no run has reached is listed as not run.
    third = valid(_report.document(_report.update(_report.entries_of(second), {}, ['a', 'c']), META))
    assert third['hosts']['c']['verdict'] == 'not_run' and third['hosts']['c']['last_run'] is None
    assert sorted(third['hosts']) == ['a', 'b', 'c']


def test_state_of_ignores_when_and_how_hosts_ran():
    first = one_host(applied(), at=T1)
    rerun = one_host(dict(applied(), changed=False), at=T2)
    assert _report.state_of(first) == _report.state_of(rerun)
    assert _report.state_of(first) != _report.state_of(one_host(applied(reserved='36601')))


def test_merge_keeps_each_hosts_latest_entry(valid):
    def report_of(**hosts):
        return json.loads(_report.to_json(_report.document(dict(
            (host, _report.reached_host(host, applied(**kwargs), run(at))) for host, (at, kwargs) in hosts.items()), META)))
    slice_a = report_of(a1=(T1, {}), b1=(T1, {}))
    slice_b = report_of(b1=(T2, {'reserved': '36601'}), c1=(T1, {}))
    merged = valid(_report.document(_report.merge([('b.json', slice_b), ('a.json', slice_a)]), META))
    assert sorted(merged['hosts']) == ['a1', 'b1', 'c1']
    assert merged['hosts']['b1']['last_run']['at'] == T2 and merged['hosts']['b1']['reserved'] == '36601'
    assert [row['host'] for row in merged['rows']] == ['a1', 'a1', 'b1', 'b1', 'c1', 'c1']
    assert _report.to_json(merged) == _report.to_json(_report.document(
        _report.merge([('a.json', slice_a), ('b.json', slice_b)]), META))
    # The same time in two reports: the later one in the list wins.
    tie = report_of(a1=(T1, {'reserved': '37601'}))
    assert _report.merge([('a.json', slice_a), ('tie.json', tie)])['a1'][0]['reserved'] == '37601'
    with pytest.raises(_report.ReportError, match='x.json is not a report of portguard.ephemeral.reserved_ports'):
        _report.merge([('x.json', {'rows': []})])
    with pytest.raises(_report.ReportError, match='old.json has schema 2, not 3'):
        _report.merge([('old.json', {'generated_by': _report.GENERATED_BY, 'schema': 2, 'hosts': {}, 'rows': []})])


SCHEMA_2 = {
    'schema': 2, 'generated_by': 'portguard.ephemeral.reserved_ports', 'parts': [{'name': 'all', 'hosts': 2}],
    'hosts': {'h1': {'state': 'ok', 'strategy': 'reserve', 'range': [32768, 60999], 'reserved': '36601',
                     'ephemeral_ports': 28231, 'netns': None, 'boot': None, 'reserved_outside_range': '',
                     'undeclared_listeners': [], 'drift_missing': None},
              'h2': {'state': 'failed or unreachable', 'strategy': None, 'range': None, 'reserved': None,
                     'ephemeral_ports': None, 'netns': None, 'boot': None, 'reserved_outside_range': None,
                     'undeclared_listeners': [], 'drift_missing': None}},
    'rows': [{'host': 'h1', 'service': 'app', 'protocol': 'tcp', 'port': 36601, 'protected': False,
              'status': 'held by an outgoing connection', 'held_by': ['tcp ESTABLISHED 127.0.0.1:36601 -> x'],
              'note': None, 'source': 'reserved_ports_services[0]'}],
}


def test_a_schema_2_report_is_upgraded_with_its_hosts(valid):
    data = valid(_report.upgrade('old.json', SCHEMA_2))
    assert (data['hosts']['h1']['verdict'], data['hosts']['h2']['verdict']) == ('at_risk', 'failed')
    assert data['hosts']['h1']['last_run'] is None and data['hosts']['h1']['reserved'] == '36601'
    assert data['rows'][0]['message'] == 'held by an outgoing connection; held by tcp ESTABLISHED 127.0.0.1:36601 -> x'


NODE = {'port': 45000, 'protocol': 'tcp', 'address': '0.0.0.0', 'local': '0.0.0.0:45000', 'uid': 1001, 'inode': 7,
        'process': {'pid': 2210, 'comm': 'node', 'uid': 1001, 'user': 'app'},
        'processes': [{'pid': 2210, 'comm': 'node', 'uid': 1001, 'user': 'app'}], 'process_count': 1,
        'no_process': None, 'binds_port_zero_likely': False}
STATD = dict(NODE, port=45871, protocol='udp', local='0.0.0.0:45871', binds_port_zero_likely=True,
             process={'pid': 611, 'comm': 'rpc.statd', 'uid': 0, 'user': 'root'},
             processes=[{'pid': 611, 'comm': 'rpc.statd', 'uid': 0, 'user': 'root'}])


def test_undeclared_listeners_are_structured_and_can_be_ignored(valid):
    plan = plan_for([{'name': 'app', 'port': 36601}])
    result = applied('36601', plan=plan, unreserved_listeners=[STATD, NODE])
    found = _findings.undeclared_listeners(plan, result)
    assert [(item['port'], item['comm'], item['pid'], item['user'], item['moves_on_restart']) for item in found] == [
        (45000, 'node', 2210, 'app', False), (45871, 'rpc.statd', 611, 'root', True)]
    # Only the one that stays on its port is worth a warning or a failure.
    assert _findings.listener_problems(found) == [
        'port 45000 (tcp 0.0.0.0:45000) is listened on by node (pid 2210, user app) inside the ephemeral range and '
        'is not reserved: an outgoing connection can take it while the service is down. Declare it in '
        'reserved_ports_services, or add it to reserved_ports_ignore_listeners']
    ignoring = plan_for([{'name': 'app', 'port': 36601}], ignore_listeners=['45000-45001', 'rpc.statd'])
    assert _findings.undeclared_listeners(ignoring, result) == []
    assert valid(one_host(result))['hosts']['h']['undeclared_listeners'] == found


def test_holders_name_their_process_or_say_there_is_none():
    owned = _findings.socket_record(dict(CLIENT, process={'pid': 4242, 'comm': 'curl', 'uid': 0, 'user': 'root'},
                                         process_count=3))
    waiting = _findings.socket_record(dict(CLIENT, state='TIME_WAIT', process=None, no_process='kernel_only'))
    assert _findings.socket_text(owned) == ('tcp ESTABLISHED 127.0.0.1:36601 -> 127.0.0.1:5000 by curl '
                                            '(pid 4242, user root, and 2 more)')
    assert _findings.socket_text(waiting) == ('tcp TIME_WAIT 127.0.0.1:36601 -> 127.0.0.1:5000 '
                                              '(no process: the kernel holds it alone)')


def test_drift_of_an_audit_is_said_and_reported(valid):
    result = audited('', drift={'detected': True, 'range': {'live': [32768, 60999], 'boot': [32768, 60999]},
                                'reserved': {'missing': port_set('36601,37601'), 'extra': port_set('')}})
    assert _findings.drift_problems(result) == [
        'ports 36601,37601 are reserved at boot but not live: something changed net.ipv4.ip_local_reserved_ports '
        'since (another tool, sysctl -w or a truncating sysctl -p); rerun the role to restore them']
    assert valid(one_host(result))['hosts']['h']['drift_missing'] == '36601,37601'
    assert _findings.drift_problems(audited()) == []


OWNERS = {'reserved_ports': port_set('36601,37601'), 'kubespray': port_set('30000-30002')}


def pressure(left):
    # Not in order: the report sorts them, fewest ports left first.
    return {'range': [32768, 60999], 'effective': 28230, 'destination_count': 2, 'limit': 20, 'destinations': [
        {'protocol': 'tcp', 'remote_address': '10.0.0.8', 'remote_port': 443, 'local_address': '10.0.0.5', 'in_use': 3,
         'states': {'ESTABLISHED': 3}, 'left': 28227},
        {'protocol': 'tcp', 'remote_address': '10.0.0.9', 'remote_port': 5432, 'local_address': None, 'in_use': 28230 - left,
         'states': {'ESTABLISHED': 10, 'TIME_WAIT': 28220 - left}, 'left': left}]}


def test_owners_and_pressure_are_shown_when_the_modules_return_them(valid):
    info = valid(one_host(audited(owners=OWNERS, pressure=pressure(120))))['hosts']['h']
    assert info['owners'] == {'kubespray': {'canonical': '30000-30002', 'count': 3},
                              'reserved_ports': {'canonical': '36601,37601', 'count': 2}}
    assert [item['left'] for item in info['pressure']['destinations']] == [120, 28227]
    # The threshold is the host's setting (its plan's), so an audit and an apply of one host report the same.
    assert info['pressure']['min_free'] == 1024 and info['pressure']['destination_count'] == 2
    # local_ports: the values after its change.
    apply_pressure = {'before': pressure(10), 'after': pressure(200), 'min_free': 1000}
    after = valid(one_host(applied(owners=OWNERS, pressure=apply_pressure)))['hosts']['h']['pressure']
    assert after['destinations'][0]['left'] == 200 and after['min_free'] == 1024
    # Absent: nothing, and no failure.
    assert valid(one_host(applied()))['hosts']['h']['owners'] is None


def test_the_boot_chain_each_host_was_predicted_with_is_in_its_entry(valid):
    chain = [{'name': 'systemd-sysctl', 'source': 'systemd is PID 1', 'modelled': True},
             {'name': 'tuned', 'profile': 'oracle', 'reapply_sysctl': True, 'modelled': True}]
    host = valid(one_host(audited(boot_appliers=chain)))['hosts']['h']
    assert host['boot_chain'] == [{'name': 'systemd-sysctl', 'profile': None}, {'name': 'tuned', 'profile': 'oracle'}]
    assert valid(one_host(audited()))['hosts']['h']['boot_chain'] is None
