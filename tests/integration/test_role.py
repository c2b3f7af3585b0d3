# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role portguard.ephemeral.reserved_ports against real kernels in Labs.

Every ansible-playbook run happens *inside* a lab (a private network namespace
with a private sysctl tree), with the local connection.  Fleet tests map each
inventory host (h1, h2, h3) to a lab of its own through reserved_ports_netns;
the controller runs in yet another lab, so a host that somehow lost its
namespace would write the controller lab, never the machine.  Values are read
back from /proc/sys inside each lab; sockets are real sockets in the labs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import glob
import json
import os
import re
import select
import shutil
import subprocess
import sys
import threading
import time

import jsonschema
import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nslab  # noqa: E402  pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = nslab.REPO
ROLE = os.path.join(REPO, 'roles', 'reserved_ports')
PLAYBOOK = os.path.join(HERE, 'playbooks', 'role.yml')
FLEET = os.path.join(HERE, 'inventories', 'fleet')
SEED = os.path.join(HERE, 'inventories', 'seed')
CLONES = (36601, 37601, 38601)
DEFAULT_RANGE = (32768, 60999)
APPLY_TASK = 'Reserve the service ports and set the ephemeral range'
AUDIT_TASK = 'Audit the service ports (held right now by other sockets?)'
PLAN_TASK = "Validate every host's service declarations on the controller"
REPORT_TASK = 'Write the fleet report on the controller'
MERGE_PLAYBOOK = os.path.join(REPO, 'playbooks', 'report_merge.yml')
# A connection every host refuses (tests/integration/connection_plugins/refused.py): an unreachable host.
REFUSED = {'ANSIBLE_CONNECTION_PLUGINS': os.path.join(HERE, 'connection_plugins')}
with open(os.path.join(REPO, 'docs', 'report.schema.json')) as _handle:
    REPORT_SCHEMA = json.load(_handle)

# What the fleet inventory declares, per host (group_vars web/db/monitored, host_vars/h2).
FLEET_RESERVED = {
    'h1': '9100,36601,37601,38601,40000-40009,42001',
    'h2': '9100,36601,37601,38601,40000-40009,42001,46379',
    'h3': '5432,9100,42001,45432',
}


# --------------------------------------------------------------------------- running the role

class Run(nslab.PlaybookRun):
    """A playbook run with per-host access to the json callback's results."""

    def host_results(self, name):
        """{host: result} of every task named ``name`` (role tasks are shown as "ROLE : name")."""
        found = {}
        for play in self.data.get('plays', []):
            for task in play.get('tasks', []):
                if task['task']['name'].split(' : ', 1)[-1] == name:
                    found.update(task.get('hosts', {}))
        return found

    def host_stats(self):
        return self.data.get('stats', {})

    def changed_total(self):
        return sum(stats.get('changed', 0) for stats in self.host_stats().values())

    def failed_results(self):
        """[(task name, host)] of every failed result, in order."""
        return [(task['task']['name'].split(' : ', 1)[-1], host) for play in self.data.get('plays', [])
                for task in play.get('tasks', []) for host, result in task.get('hosts', {}).items()
                if result.get('failed')]

    def recap(self):
        """{host: (failures, unreachable, skipped, changed)} from the play recap."""
        return dict((host, (stats.get('failures', 0), stats.get('unreachable', 0), stats.get('skipped', 0),
                            stats.get('changed', 0))) for host, stats in self.host_stats().items())

    def messages(self):
        """Every failure message and the stderr, for asserting on errors."""
        texts = [self.proc.stderr]
        for _name, result in self.tasks():
            if result.get('failed'):
                texts.append(str(result.get('msg', '')))
        return '\n'.join(texts)


def read_report(base, preview=False):
    """(JSON, Markdown) of the report at ``base``, the JSON validated against docs/report.schema.json."""
    stem = base + ('.preview' if preview else '')
    with open(stem + '.json') as handle:
        data = json.load(handle)
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(data)
    with open(stem + '.md') as handle:
        return data, handle.read()


def verdicts(data):
    return dict((host, entry['verdict']) for host, entry in data['hosts'].items())


def run_playbook(lab, inventories, extra_vars=None, check=False, diff=False, args=(), home=None,
                 playbook=PLAYBOOK, keep_netns=False, env_extra=None):
    argv = nslab.playbook_argv(playbook, inventories, extra_vars, check, diff, args)
    env = nslab.ansible_env(home or os.path.join(lab.root, '.ansible'))
    env.update(env_extra or {})
    return Run(lab.run(argv, check=False, env=env, keep_netns=keep_netns))


class Fleet(object):
    """A controller lab and one lab per inventory host of tests/integration/inventories/fleet."""

    def __init__(self, tmp_path, hosts=('h1', 'h2', 'h3')):
        self.tmp = str(tmp_path)
        self.labs = {}
        self.controller = None
        try:
            self.controller = nslab.Lab()
            for host in hosts:
                self.labs[host] = nslab.Lab()
        except BaseException:
            self.close()
            raise

    def overlay(self, **host_vars):
        """An inventory layer: each host's namespace, plus extra host variables per host."""
        hosts = {}
        for host, lab in self.labs.items():
            hosts[host] = {'reserved_ports_netns': lab.path}
            hosts[host].update(host_vars.get(host, {}))
        path = os.path.join(self.tmp, 'overlay-%d.yml' % len(glob.glob(os.path.join(self.tmp, 'overlay-*.yml'))))
        with open(path, 'w') as handle:
            yaml.safe_dump({'all': {'hosts': hosts}}, handle)
        return path

    def run(self, extra_vars=None, host_vars=None, **kwargs):
        inventories = [FLEET, self.overlay(**(host_vars or {}))]
        return run_playbook(self.controller, inventories, extra_vars, home=os.path.join(self.tmp, 'ansible-home'),
                            keep_netns=True, **kwargs)

    def snapshots(self):
        shots = {'controller': self.controller.snapshot()}
        for host, lab in self.labs.items():
            shots[host] = lab.snapshot()
        return shots

    def close(self):
        for lab in list(self.labs.values()) + [self.controller]:
            if lab is not None:
                lab.close()


@pytest.fixture
def fleet(tmp_path):
    instance = Fleet(tmp_path)
    yield instance
    instance.close()


def seed_run(lab, tmp_path, extra_vars=None, **kwargs):
    return run_playbook(lab, [SEED], extra_vars, home=os.path.join(str(tmp_path), 'ansible-home'), **kwargs)


# Holds one port with an ordinary outgoing connection (explicit bind, then
# connect to a local listener), the way a client that happened to get the port
# holds it.  Prints "ready", waits for stdin to close.
HOLD_ONE = r'''
import socket, sys
port = int(sys.argv[1])
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(4)
client = socket.socket()
client.bind(('127.0.0.1', port))
client.connect(srv.getsockname())
peer, _addr = srv.accept()
print('ready', flush=True)
sys.stdin.read()
'''


class HeldPort(object):
    def __init__(self, lab, port):
        self.proc = lab.spawn([sys.executable, '-u', '-c', HOLD_ONE, str(port)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _w, _x = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ''
        if line.strip() != 'ready':
            self.close()
            raise AssertionError('could not hold port %d: %s' % (port, self.proc.stderr.read()))

    def close(self):
        nslab.end_process(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------- the seed scenario

def test_seed_clones_fail_without_the_role_and_start_with_it(lab, tmp_path):
    """Three clones on 36601, 37601, 38601: outgoing connections take their ports, then the role."""
    assert lab.port_range() == DEFAULT_RANGE
    with lab.hold_ephemeral_ports() as hold:
        assert hold.held == DEFAULT_RANGE[1] - DEFAULT_RANGE[0] + 1
        before = lab.try_listen(CLONES)
    failed = [port for port, error in before.items() if error]
    assert failed, before
    assert all('EADDRINUSE' in before[port] for port in failed), before

    run = seed_run(lab, tmp_path)
    assert run.rc == 0, run
    assert nslab.kernel_set(lab.reserved()) == set(CLONES)

    with lab.hold_ephemeral_ports() as hold:
        # Every free port is taken by outgoing connections, except the reserved ones.
        assert hold.held == DEFAULT_RANGE[1] - DEFAULT_RANGE[0] + 1 - len(CLONES)
        after = lab.try_listen(CLONES)
    assert after == dict((port, None) for port in CLONES), after


def test_idempotent_check_mode_and_diff(lab, tmp_path):
    before = lab.snapshot()
    check = seed_run(lab, tmp_path, check=True, diff=True)
    assert check.rc == 0, check
    applied = check.host_results(APPLY_TASK)['target']
    assert applied['changed'] is True and applied['reserved']['after']['canonical'] == '36601,37601,38601'
    assert 'diff' in applied and '36601,37601,38601' in json.dumps(applied['diff'])
    assert lab.snapshot() == before, 'check mode changed the lab'

    first = seed_run(lab, tmp_path)
    assert first.rc == 0, first
    assert first.host_results(APPLY_TASK)['target']['changed'] is True
    assert lab.reserved() == '36601,37601,38601\n'
    with open(lab.file('etc/sysctl.d/zz-portguard-ephemeral.conf')) as handle:
        conf = handle.read()
    assert 'net.ipv4.ip_local_reserved_ports = 36601,37601,38601' in conf

    second = seed_run(lab, tmp_path)
    assert second.rc == 0, second
    assert second.host_stats()['target']['changed'] == 0, second.host_stats()
    assert lab.reserved() == '36601,37601,38601\n'


def test_tags_select_apply_or_audit(lab, tmp_path):
    before = lab.snapshot()
    audit_only = seed_run(lab, tmp_path, args=['--tags', 'reserved_ports_audit'])
    assert audit_only.rc == 0, audit_only
    assert audit_only.host_results(APPLY_TASK) == {}
    ports = audit_only.host_results(AUDIT_TASK)['target']['ports']
    assert [entry['port'] for entry in ports] == list(CLONES)
    assert all(entry['at_risk'] for entry in ports)
    assert lab.snapshot() == before

    apply_only = seed_run(lab, tmp_path, args=['--tags', 'reserved_ports_apply'])
    assert apply_only.rc == 0, apply_only
    assert apply_only.host_results(AUDIT_TASK) == {}
    assert apply_only.host_results(APPLY_TASK)['target']['changed'] is True
    assert nslab.kernel_set(lab.reserved()) == set(CLONES)


# --------------------------------------------------------------------------- move_range

def test_move_range_picks_the_largest_gap_with_different_parity(lab, tmp_path):
    services = [{'name': 'a', 'port': 33000}, {'name': 'b', 'port': 40000}, {'name': 'c', 'port': 52000}]
    run = seed_run(lab, tmp_path, {'reserved_ports_services_app': services, 'reserved_ports_strategy': 'move_range'})
    assert run.rc == 0, run
    # Gaps of 32768-60999: 32768-32999, 33001-39999, 40001-51999 (11999 ports), 52001-60999.
    # 40001 and 51999 are both odd: the kernel prefers different parity, so 51998.
    assert lab.port_range() == (40001, 51998)
    assert lab.reserved() == '\n'
    with lab.hold_ephemeral_ports() as hold:
        assert hold.held == 51998 - 40001 + 1
        assert lab.try_listen([33000, 40000, 52000]) == {33000: None, 40000: None, 52000: None}

    both = seed_run(lab, tmp_path, {'reserved_ports_services_app': services, 'reserved_ports_strategy': 'both'})
    assert both.rc == 0, both
    assert lab.port_range() == (40001, 51998)
    assert lab.reserved() == '33000,40000,52000\n'

    # Back to move_range alone: the role's own reservations are released, the range stays.
    back = seed_run(lab, tmp_path, {'reserved_ports_services_app': services, 'reserved_ports_strategy': 'move_range'})
    assert back.rc == 0, back
    assert back.host_results(APPLY_TASK)['target']['released']['canonical'] == '33000,40000,52000'
    assert (lab.port_range(), lab.reserved()) == ((40001, 51998), '\n')


def test_leaving_move_range_warns_once_per_run_and_the_documented_way_back_restores_the_default(lab, tmp_path):
    services = {'reserved_ports_services_app': [{'name': 'a', 'port': 40000}]}
    moved = seed_run(lab, tmp_path, dict(services, reserved_ports_strategy='move_range'))
    assert moved.rc == 0, moved
    assert lab.port_range() == (40001, 60998)
    for _run in range(2):  # every run that keeps the old range says so, once
        kept = seed_run(lab, tmp_path, services)
        assert kept.rc == 0, kept
        assert kept.host_results(APPLY_TASK)['target']['warnings'] == [
            'net.ipv4.ip_local_port_range stays 40001 60998: /etc/sysctl.d/zz-portguard-ephemeral.conf line 7 still '
            'sets it, from an earlier move_range run or reserved_ports_range, and strategy reserve without '
            'reserved_ports_range keeps it. Set reserved_ports_range: "32768 60999" to go back to the kernel\'s '
            'default, or "40001 60998" to keep it without this warning']
        assert lab.port_range() == (40001, 60998)
    back = dict(services, reserved_ports_range='32768 60999')
    restored = seed_run(lab, tmp_path, back)
    assert restored.rc == 0, restored
    assert lab.port_range() == DEFAULT_RANGE
    assert nslab.kernel_set(lab.reserved()) == set([40000])
    again = seed_run(lab, tmp_path, back)
    assert again.changed_total() == 0 and not again.host_results(APPLY_TASK)['target'].get('warnings'), again
    # The kernel's default in the file is no moved range: no warning without reserved_ports_range either.
    quiet = seed_run(lab, tmp_path, services)
    assert quiet.rc == 0 and not quiet.host_results(APPLY_TASK)['target'].get('warnings'), quiet


def test_move_range_without_a_large_enough_gap_fails_with_the_numbers(lab, tmp_path):
    before = lab.snapshot()
    services = [{'name': 's%d' % port, 'port': port} for port in range(36000, 61000, 6000)]
    run = seed_run(lab, tmp_path, {'reserved_ports_services_app': services, 'reserved_ports_strategy': 'move_range'})
    assert run.rc != 0, run
    text = run.messages()
    assert 'host target' in text
    assert 'no range of at least 8192 ports' in text
    assert '32768-60999' in text
    # Gaps 36001-41999, ..., 54001-59999 hold 5999 ports; with ends of different parity 5998. The
    # highest wins a tie.
    assert 'the largest range without a service port (ends of different parity) is 54001-59998 (5998 ports)' in text
    assert 'service ports 36000,42000,48000,54000,60000 lie in the window' in text
    assert lab.snapshot() == before


# --------------------------------------------------------------------------- the fleet

def test_fleet_each_host_gets_its_own_ports_and_a_report(fleet):
    report = os.path.join(fleet.tmp, 'report')
    run = fleet.run({'reserved_ports_report': report})
    assert run.rc == 0, run
    applied = run.host_results(APPLY_TASK)
    assert sorted(applied) == ['h1', 'h2', 'h3']
    for host, lab in fleet.labs.items():
        assert lab.reserved() == FLEET_RESERVED[host] + '\n', host
        assert lab.port_range() == DEFAULT_RANGE
        assert applied[host]['netns']['link'] == lab.link
        # Live only in another namespace: nothing persisted anywhere.
        assert applied[host]['persisted_file'] is None
    assert fleet.controller.reserved() == '\n'
    assert os.listdir(fleet.controller.file('etc/sysctl.d')) == []
    # One module call per host: the audit task does not even run (tagged never) in an ordinary run.
    assert run.host_results(AUDIT_TASK) == {}
    # The validation runs once for the play (on its first host) and reads every host.
    assert list(run.host_results(PLAN_TASK)) == ['h1'] and run.host_results(PLAN_TASK)['h1']['hosts'] == 3

    data, markdown = read_report(report)
    assert verdicts(data) == {'h1': 'protected', 'h2': 'protected', 'h3': 'protected'}
    assert data['counts'] == {'protected': 3, 'at_risk': 0, 'failed': 0, 'unreachable': 0, 'not_run': 0}
    assert data['check_mode'] is False and data['ansible_core_version'] and data['collection_version'] != 'unknown'
    assert all(entry['last_run']['mode'] == 'apply' and entry['last_run']['outcome'] == 'changed'
               and entry['last_run']['part'] == 'all' for entry in data['hosts'].values())
    rows = dict(((row['host'], row['service'], str(row['port'])), row) for row in data['rows'])
    assert rows[('h2', 'cache', '46379')]['protected'] is True
    assert rows[('h1', 'admin', '40000-40009')]['message'] == 'reserved'
    assert rows[('h3', 'stats-agent', '42001')]['protocol'] == 'udp'
    assert ('h3', 'app', '36601') not in rows
    # h1: app (3 ports), admin, node-exporter, stats-agent; h2: the same and cache; h3: postgres,
    # replication, node-exporter, stats-agent.
    assert len(data['rows']) == 6 + 7 + 4
    assert all(row['protected'] is True for row in data['rows'])
    # One order everywhere: host, then port.
    order = [(row['host'], int(str(row['port']).split('-', maxsplit=1)[0])) for row in data['rows']]
    assert order == sorted(order)
    assert '| host | service | protocol | port | protected | why | held by | note |' in markdown
    assert '| `h2` | `cache` | tcp | 46379 | yes | `reserved` |  |  |' in markdown
    assert markdown.count('\n| `h') >= len(data['rows'])

    again = fleet.run({'reserved_ports_report': report})
    assert again.rc == 0, again
    # A clean rerun changes nothing and says nothing; the report records the run (a new time) but is not changed.
    assert again.changed_total() == 0, again.host_stats()
    assert 'WARNING' not in again.proc.stderr, again.proc.stderr
    rerun, _markdown = read_report(report)
    assert all(entry['last_run']['outcome'] == 'unchanged' for entry in rerun['hosts'].values())
    assert rerun['rows'] == data['rows']


def assert_only_failed(run, bad, blocked=()):
    """The recap fails ``bad`` alone; the ``blocked`` hosts were skipped at the apply step, not failed."""
    recap = run.recap()
    assert [host for host, stats in recap.items() if stats[0] or stats[1]] == [bad], recap
    applied = run.host_results(APPLY_TASK)
    assert applied[bad]['failed'] is True and applied[bad]['changed'] is False, applied[bad]
    for host in blocked:
        assert applied[host].get('skipped') is True and applied[host]['blocked_by'] == [bad], applied[host]
        assert applied[host]['changed'] is False and recap[host][2] >= 1, (applied[host], recap)
    # The list is printed once, on the host it belongs to: no other task failed anywhere.
    assert run.failed_results() == [(APPLY_TASK, bad)], run.failed_results()


@pytest.mark.parametrize('bad_vars, expected', [
    ({'reserved_ports_services_extra': [{'name': 'standby', 'port': 45432}]},
     ["host h3: port 45432 is claimed by two services: 'replication'", "'standby'",
      'reserved_ports_services_db[1]', 'reserved_ports_services_extra[0]']),
    ({'reserved_ports_services_extra': [{'name': 'admin-2', 'ports': ['40005-40020']}]},
     ["host h3: ports 40005-40009 are claimed by two services"]),
], ids=['same-port', 'overlapping-ranges'])
def test_duplicate_port_changes_no_host(fleet, bad_vars, expected):
    # h3 gets an extra service; with the overlapping case h3 also gets admin via host vars.
    host_vars = dict(bad_vars)
    if 'admin-2' in json.dumps(bad_vars):
        host_vars['reserved_ports_services'] = [{'name': 'admin', 'port': '40000-40009'}]
    before = fleet.snapshots()
    report = os.path.join(fleet.tmp, 'report')
    run = fleet.run({'reserved_ports_report': report}, host_vars={'h3': host_vars})
    assert run.rc != 0, run
    # The failure is h3's, and only h3's: h1 and h2 are not failed, and change nothing.
    assert_only_failed(run, 'h3', blocked=['h1', 'h2'])
    text = run.host_results(APPLY_TASK)['h3']['msg']
    for piece in expected:
        assert piece.replace('host h3: ', '') in text, (piece, text)
    assert 'nothing was changed on it; the other hosts of the play are left unchanged too' in text
    assert fleet.snapshots() == before
    data, markdown = read_report(report)
    assert data['hosts']['h3']['verdict'] == 'failed' and expected[-1].replace('host h3: ', '') in data['hosts']['h3']['message']
    assert data['attention'] == ['h1', 'h2', 'h3'] and data['hosts']['h1']['verdict'] == 'not_run'
    assert data['hosts']['h1']['message'].startswith('reserved_ports: not changed: host h3 has problems')
    assert '| `h3` | failed |' in markdown


@pytest.mark.parametrize('value, expected', [
    ('80800', "reserved_ports_services_bad[0] (service 'broken') port: '80800' is outside 1-65535"),
    ('9000-8000', "reserved_ports_services_bad[0] (service 'broken') port: '9000-8000' is a reversed range"),
    ('036601', "reserved_ports_services_bad[0] (service 'broken') port: '036601' has a leading zero"),
    ('8080,8081', "reserved_ports_services_bad[0] (service 'broken') port: '8080,8081' is not a port or range"),
], ids=['too-large', 'reversed', 'octal', 'comma-string'])
def test_malformed_port_changes_no_host(fleet, value, expected):
    before = fleet.snapshots()
    run = fleet.run(host_vars={'h2': {'reserved_ports_services_bad': [{'name': 'broken', 'port': value}]}})
    assert run.rc != 0, run
    assert_only_failed(run, 'h2', blocked=['h1', 'h3'])
    assert expected in run.host_results(APPLY_TASK)['h2']['msg'], run.host_results(APPLY_TASK)['h2']
    assert fleet.snapshots() == before


def test_serial_batches_a_problem_in_a_later_batch_changes_no_host(fleet):
    """With serial: 1, h3's inventory is checked (from hostvars) while the first batch (h1) is validated."""
    before = fleet.snapshots()
    run = fleet.run(host_vars={'h3': {'reserved_ports_services_extra': [{'name': 'standby', 'port': 45432}]}},
                    playbook=os.path.join(HERE, 'playbooks', 'role_serial.yml'))
    assert run.rc != 0, run
    # Each batch knows of h3's problem (the first batch found it): h1 and h2 change nothing, h3 fails.
    assert_only_failed(run, 'h3', blocked=['h1', 'h2'])
    assert "port 45432 is claimed by two services: 'replication'" in run.host_results(APPLY_TASK)['h3']['msg']
    assert fleet.snapshots() == before

    good = fleet.run(playbook=os.path.join(HERE, 'playbooks', 'role_serial.yml'))
    assert good.rc == 0, good
    for host, lab in fleet.labs.items():
        assert lab.reserved() == FLEET_RESERVED[host] + '\n', host


def test_serial_batches_check_later_hosts_with_the_plays_vars(fleet):
    """A later batch's host is checked with everything its own tasks would see: play vars, role defaults."""
    before = fleet.snapshots()
    run = fleet.run(host_vars={'h3': {'portguard_test_play_services': [{'name': 'standby', 'port': 45432}]}},
                    playbook=os.path.join(HERE, 'playbooks', 'role_serial.yml'))
    assert run.rc != 0, run
    assert_only_failed(run, 'h3', blocked=['h1', 'h2'])
    text = run.host_results(APPLY_TASK)['h3']['msg']
    assert "port 45432 is claimed by two services: 'replication'" in text and 'reserved_ports_services_play' in text
    assert fleet.snapshots() == before


@pytest.mark.parametrize('bad', ['h1', 'h3'])
def test_invalid_setting_on_one_host_changes_no_host(fleet, bad):
    """ansible-core's argument-spec check passes (types raw); the plan step names the bad host and stops them all."""
    before = fleet.snapshots()
    run = fleet.run(host_vars={bad: {'reserved_ports_strategy': 'sideways'}})
    assert run.rc != 0, run
    # ansible-core's argument-spec check lets the value through (the spec is loose on purpose): the role's own
    # check names it once, the bad host fails at its own step with it, and the others change nothing.
    text = run.messages()
    assert "reserved_ports_strategy: 'sideways' is not one of reserve, move_range, both" in text, text
    assert 'Validation of arguments failed' not in text and 'argument_spec_data' not in run.proc.stdout
    recap = run.recap()
    assert [host for host, stats in recap.items() if stats[0]] == [bad], recap
    plan = list(run.host_results(PLAN_TASK).values())[0]
    assert plan['problem_hosts'] == [bad] and not plan.get('failed'), plan
    applied = run.host_results(APPLY_TASK)
    assert applied[bad]['failed'] and "'sideways' is not one of" in applied[bad]['msg'], applied[bad]
    others = dict((host, result) for host, result in applied.items() if host != bad)
    assert sorted(others) == sorted(set(['h1', 'h2', 'h3']) - set([bad]))
    assert all(result['blocked_by'] == [bad] and result['changed'] is False for result in others.values()), others
    assert fleet.snapshots() == before


def test_held_service_port_is_reported_and_can_fail(fleet):
    report = os.path.join(fleet.tmp, 'held')
    with HeldPort(fleet.labs['h1'], 37601):
        run = fleet.run({'reserved_ports_report': report})
        assert run.rc == 0, run
        shown = run.host_results(APPLY_TASK)
        assert 'port 37601 (app) is held right now' in ' '.join(shown['h1']['warnings']), shown['h1']
        assert not any('held right now' in warning for warning in shown['h2'].get('warnings', [])), shown['h2']
        # Said once for the host (the json callback of ansible-core 2.21 also lists every warning at the end).
        assert ' '.join(shown['h1']['warnings']).count('port 37601 (app) is held right now') == 1, shown['h1']
        data, markdown = read_report(report)
        rows = [row for row in data['rows'] if row['host'] == 'h1' and row['port'] == 37601]
        assert len(rows) == 1 and rows[0]['protected'] is False, rows
        holder = rows[0]['holders'][0]
        assert (holder['protocol'], holder['state'], holder['local']) == ('tcp', 'ESTABLISHED', '127.0.0.1:37601'), holder
        assert holder['comm'] == os.path.basename(sys.executable)[:15] and isinstance(holder['pid'], int), holder
        assert '| `h1` | `app` | tcp | 37601 | NO |' in markdown
        host = data['hosts']['h1']
        assert (host['verdict'], host['at_risk_ports']) == ('at_risk', 1), host
        assert host['message'].startswith('1 port at risk: 37601 (app): held by an outgoing connection in ESTABLISHED')
        assert data['attention'] == ['h1'] and data['counts']['at_risk'] == 1

        failing = fleet.run({'reserved_ports_on_held': 'fail', 'reserved_ports_report': report})
        assert failing.rc != 0, failing
        assert 'port 37601 (app) is held right now' in failing.messages()
        failed = failing.host_results(APPLY_TASK)
        assert failed['h1'].get('failed') is True and not failed['h2'].get('failed'), failed
        # Only h1 fails; the others were applied (a failure on the target, after the check).
        assert failing.failed_results() == [(APPLY_TASK, 'h1')]
        data, _markdown = read_report(report)
        assert data['hosts']['h1']['verdict'] == 'failed' and data['hosts']['h1']['at_risk_ports'] == 1
        assert 'port 37601 (app) is held right now' in data['hosts']['h1']['message']
        assert verdicts(data)['h2'] == 'protected'
    # The reservation itself was applied: the holder goes, the port stays out of automatic choice.
    assert '37601' in fleet.labs['h1'].reserved()


# --------------------------------------------------------------------------- living in real playbooks

def test_skipping_one_step_still_validates_and_reports(lab, tmp_path):
    report = os.path.join(str(tmp_path), 'report')
    no_audit = seed_run(lab, tmp_path, {'reserved_ports_report': report}, args=['--skip-tags', 'reserved_ports_audit'])
    assert no_audit.rc == 0, no_audit
    assert sorted(no_audit.host_results(PLAN_TASK)) == ['target']
    assert no_audit.host_results(APPLY_TASK)['target']['changed'] is True
    assert no_audit.host_results(AUDIT_TASK) == {}
    assert os.path.exists(report + '.json')
    with open(report + '.json') as handle:
        written = handle.read()
    # Skipping the apply step validates only (the audit is asked for with --tags reserved_ports_audit):
    # no module runs, and the report of the last real run stays as it was.
    no_apply = seed_run(lab, tmp_path, {'reserved_ports_report': report}, args=['--skip-tags', 'reserved_ports_apply'])
    assert no_apply.rc == 0, no_apply
    assert sorted(no_apply.host_results(PLAN_TASK)) == ['target'] and no_apply.host_results(APPLY_TASK) == {}
    assert no_apply.host_results(AUDIT_TASK) == {}
    assert no_apply.changed_total() == 0, no_apply.host_stats()
    with open(report + '.json') as handle:
        assert handle.read() == written
    # Validating only still fails on a problem, and writes no report.
    bad = seed_run(lab, tmp_path, {'reserved_ports_report': report, 'reserved_ports_services_app': [{'name': 'x', 'port': 0}]},
                   args=['--skip-tags', 'reserved_ports_apply'])
    assert bad.rc != 0 and bad.failed_results() == [(PLAN_TASK, 'target')], bad
    with open(report + '.json') as handle:
        assert handle.read() == written


def test_other_tags_run_nothing_of_the_role(lab, tmp_path):
    before = lab.snapshot()
    run = seed_run(lab, tmp_path, args=['--tags', 'other'], playbook=os.path.join(HERE, 'playbooks', 'role_and_other.yml'))
    assert run.rc == 0, run
    names = set(name.split(' : ', 1)[-1] for name, _result in run.tasks())
    assert 'Another role\'s task' in names
    # Only ansible-core's own argument-spec check (tagged always by ansible-core) may show up.
    assert not [name for name in names if name != 'Another role\'s task' and not name.startswith('Validating arguments')]
    assert lab.snapshot() == before


def test_misspelled_variables_fail_by_default_and_warn_when_asked(lab, tmp_path):
    typos = {'reserved_ports_service_web': [{'name': 'web', 'port': 36700}], 'reserved_ports_stratgy': 'move_range'}
    before = lab.snapshot()
    failing = seed_run(lab, tmp_path, typos)
    assert failing.rc != 0, failing
    text = failing.messages()
    assert ("host target: variable reserved_ports_stratgy = 'move_range' is not a variable of "
            "portguard.ephemeral.reserved_ports, which would ignore it; did you mean reserved_ports_strategy? Rename "
            "it, or set reserved_ports_on_unknown_vars: warn if it is meant for something else") in text
    assert "host target: variable reserved_ports_service_web = [{'name': 'web', 'port': 36700}] is not a variable" in text
    assert lab.snapshot() == before
    run = seed_run(lab, tmp_path, dict(typos, reserved_ports_on_unknown_vars='warn'))
    assert run.rc == 0, run
    warnings = run.host_results(PLAN_TASK)['target']['warnings']
    assert warnings == [
        "host target: variable reserved_ports_service_web = [{'name': 'web', 'port': 36700}] is not a variable of "
        "portguard.ephemeral.reserved_ports and is ignored; did you mean reserved_ports_services_web?",
        "host target: variable reserved_ports_stratgy = 'move_range' is not a variable of "
        "portguard.ephemeral.reserved_ports and is ignored; did you mean reserved_ports_strategy?"]
    assert nslab.kernel_set(lab.reserved()) == set(CLONES)


def _inventory_with(tmp_path, text):
    """The seed inventory plus group_vars/all.yml written as text (YAML's own reading of numbers matters)."""
    inventory = os.path.join(str(tmp_path), 'inventory')
    shutil.copytree(SEED, inventory)
    with open(os.path.join(inventory, 'group_vars', 'all.yml'), 'w') as handle:
        handle.write(text)
    return inventory


@pytest.mark.parametrize('written, read, fix', [
    ('036601', 'octal number 15745', 'write it in decimal without the leading zero: 36601'),
    ('0x8F79', 'hexadecimal number 36729', 'write it in decimal: 36729'),
    ('610:01', 'base-60 number 36601', 'write it in decimal: 36601'),
])
def test_a_port_yaml_reads_as_another_number_is_refused_with_file_line_and_fix(lab, tmp_path, written, read, fix):
    inventory = _inventory_with(tmp_path, '---\nreserved_ports_services_extra:\n  - {name: extra, port: %s}\n'
                                % written)
    before = lab.snapshot()
    run = run_playbook(lab, [inventory], home=os.path.join(str(tmp_path), 'ansible-home'))
    assert run.rc != 0, run
    problems = run.host_results(APPLY_TASK)['target']['msg'].split('\n- ')[1:]
    assert problems == ["host target: reserved_ports_services_extra[0] (service 'extra') port: YAML reads the unquoted "
                        "%s (%s line 3) as the %s; %s" % (written, os.path.join(inventory, 'group_vars', 'all.yml'),
                                                          read, fix)]
    assert lab.snapshot() == before


def test_one_mistake_gives_one_short_message_with_the_default_callback(lab, tmp_path):
    """ansible-core's own argument check passes; the role's check names host, variable, value; no huge lines."""
    inventory = _inventory_with(tmp_path, '---\nreserved_ports_strategy: move-range\n'
                                          'reserved_ports_services: {name: web, port: 8443}\nreserved_ports_services_db:\n')
    argv = nslab.playbook_argv(PLAYBOOK, [inventory])
    env = dict(nslab.ansible_env(os.path.join(str(tmp_path), 'ansible-home')),
               ANSIBLE_STDOUT_CALLBACK='ansible.builtin.default')
    proc = lab.run(argv, check=False, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert 'Validation of arguments failed' not in out and 'argument_spec_data' not in out, out
    assert "host target: reserved_ports_strategy: 'move-range' is not one of reserve, move_range, both; did you mean " \
           "move_range?" in out
    assert "host target: reserved_ports_services: {'name': 'web', 'port': 8443} is a mapping; it must be a list" in out
    assert max(len(line) for line in out.splitlines()) < 1000, max(out.splitlines(), key=len)
    assert 'reserved_ports_services_db is null' not in out  # a failed check lists the problems, not warnings


def test_a_host_without_services_fails_unless_allowed(lab, tmp_path):
    assert seed_run(lab, tmp_path).rc == 0
    before = lab.snapshot()
    empty = seed_run(lab, tmp_path, {'reserved_ports_services_app': []})
    assert empty.rc != 0, empty
    text = empty.messages()
    assert 'host target: no service ports' in text and 'reserved_ports_allow_empty: true' in text, text
    assert lab.snapshot() == before
    released = seed_run(lab, tmp_path, {'reserved_ports_services_app': [], 'reserved_ports_allow_empty': True})
    assert released.rc == 0, released
    assert lab.reserved() == '\n'


def test_a_range_below_1024_on_one_host_stops_every_host(fleet):
    before = fleet.snapshots()
    run = fleet.run(host_vars={'h3': {'reserved_ports_range': '500 60999'}})
    assert run.rc != 0, run
    assert "reserved_ports_range: '500 60999' starts below net.ipv4.ip_unprivileged_port_start (1024)" \
        in run.host_results(APPLY_TASK)['h3']['msg']
    assert_only_failed(run, 'h3', blocked=['h1', 'h2'])
    assert fleet.snapshots() == before


def test_serial_batches_build_one_report(fleet):
    report = os.path.join(fleet.tmp, 'serial')
    run = fleet.run({'reserved_ports_report': report}, playbook=os.path.join(HERE, 'playbooks', 'role_serial.yml'))
    assert run.rc == 0, run
    data, _markdown = read_report(report)
    assert verdicts(data) == {'h1': 'protected', 'h2': 'protected', 'h3': 'protected'}
    assert len(data['rows']) == 6 + 7 + 4
    # Each batch wrote its own host at its own time, in this one play run.
    assert len(set(entry['last_run']['run_id'] for entry in data['hosts'].values())) == 1
    again = fleet.run({'reserved_ports_report': report}, playbook=os.path.join(HERE, 'playbooks', 'role_serial.yml'))
    assert again.rc == 0 and again.changed_total() == 0, again.host_stats()


def test_limit_runs_add_up_in_one_report(fleet):
    """--limit h1, then --limit h2:h3, on one report: it holds all three, h1 as its own run left it."""
    report = os.path.join(fleet.tmp, 'reports', 'fleet')
    first = fleet.run({'reserved_ports_report': report}, args=['--limit', 'h1'])
    assert first.rc == 0, first
    alone, _markdown = read_report(report)
    assert sorted(alone['hosts']) == ['h1'] and alone['hosts']['h1']['last_run']['part'] == 'h1'
    second = fleet.run({'reserved_ports_report': report, 'reserved_ports_report_part': 'db and cache'},
                       args=['--limit', 'h2:h3'])
    assert second.rc == 0, second
    data, markdown = read_report(report)
    assert verdicts(data) == {'h1': 'protected', 'h2': 'protected', 'h3': 'protected'}
    assert data['hosts']['h1'] == alone['hosts']['h1']
    assert [row for row in data['rows'] if row['host'] == 'h1'] == alone['rows']
    assert dict((host, entry['last_run']['part']) for host, entry in data['hosts'].items()) == {
        'h1': 'h1', 'h2': 'db and cache', 'h3': 'db and cache'}
    assert len(data['rows']) == 6 + 7 + 4
    assert '| 3 | 0 | 0 | 0 | 0 |' in markdown
    # A later --limit run with a problem on h3 changes h3's entry only.
    bad = fleet.run({'reserved_ports_report': report}, args=['--limit', 'h3'],
                    host_vars={'h3': {'reserved_ports_services_extra': [{'name': 'standby', 'port': 45432}]}})
    assert bad.rc != 0 and bad.failed_results() == [(APPLY_TASK, 'h3')], bad
    after, _markdown = read_report(report)
    assert verdicts(after) == {'h1': 'protected', 'h2': 'protected', 'h3': 'failed'}
    assert after['hosts']['h2'] == data['hosts']['h2'] and after['attention'] == ['h3']


def test_runs_at_the_same_time_on_one_report_keep_every_host(fleet):
    """Three --limit runs at once: each waits for PATH.lock, none loses another's host."""
    report = os.path.join(fleet.tmp, 'parallel', 'fleet')
    os.makedirs(os.path.dirname(report))
    overlay = fleet.overlay()
    runs = {}

    def run_one(host):
        runs[host] = run_playbook(fleet.controller, [FLEET, overlay], {'reserved_ports_report': report},
                                  args=['--limit', host], home=os.path.join(fleet.tmp, 'home-' + host), keep_netns=True)
    threads = [threading.Thread(target=run_one, args=(host,)) for host in ('h1', 'h2', 'h3')]
    with open(report + '.lock', 'a') as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        for thread in threads:
            thread.start()
        deadline = time.time() + 180
        while time.time() < deadline and any(fleet.labs[host].reserved() != FLEET_RESERVED[host] + '\n'
                                             for host in ('h1', 'h2', 'h3')):
            time.sleep(0.2)
        time.sleep(3)
        # Every host was applied; every run is now at its report step, waiting for the lock.
        assert all(thread.is_alive() for thread in threads) and not os.path.exists(report + '.json')
    for thread in threads:
        thread.join()
    assert [runs[host].rc for host in ('h1', 'h2', 'h3')] == [0, 0, 0], runs
    data, _markdown = read_report(report)
    assert verdicts(data) == {'h1': 'protected', 'h2': 'protected', 'h3': 'protected'}
    assert len(data['rows']) == 6 + 7 + 4


def test_reports_of_several_controllers_merge_with_the_shipped_playbook(fleet):
    """AWX job slices: each slice its own report; the collection's playbook merges them, newest entry per host."""
    slices = os.path.join(fleet.tmp, 'slices')
    for name, limit in (('slice-1', 'h1'), ('slice-2', 'h2:h3')):
        part = fleet.run({'reserved_ports_report': os.path.join(slices, name)}, args=['--limit', limit])
        assert part.rc == 0, part
    merged = os.path.join(fleet.tmp, 'fleet')
    home = os.path.join(fleet.tmp, 'ansible-home')
    run = run_playbook(fleet.controller, [FLEET], {'report': merged, 'parts': [slices + '/*.json']}, home=home,
                       playbook='portguard.ephemeral.report_merge')
    assert run.rc == 0, run
    data, markdown = read_report(merged)
    assert verdicts(data) == {'h1': 'protected', 'h2': 'protected', 'h3': 'protected'}
    assert len(data['rows']) == 6 + 7 + 4 and '| `h3` | `postgres` | tcp | 5432 | yes |' in markdown
    # A later slice run that finds h1 at risk: the merge takes h1's newer entry and keeps the fleet's others.
    with HeldPort(fleet.labs['h1'], 37601):
        again = fleet.run({'reserved_ports_report': os.path.join(slices, 'slice-1')}, args=['--limit', 'h1'])
    assert again.rc == 0, again
    os.remove(os.path.join(slices, 'slice-2.json'))
    rerun = run_playbook(fleet.controller, [FLEET], {'report': merged, 'parts': [slices + '/*.json']}, home=home,
                         playbook=MERGE_PLAYBOOK)
    assert rerun.rc == 0 and rerun.changed_total() == 1, rerun
    data, _markdown = read_report(merged)
    assert verdicts(data) == {'h1': 'at_risk', 'h2': 'protected', 'h3': 'protected'}
    missing = run_playbook(fleet.controller, [FLEET], {'report': merged, 'parts': [slices + '/none-*.json']},
                           home=home, playbook=MERGE_PLAYBOOK)
    assert missing.rc != 0 and 'merge: no report file matches' in missing.messages(), missing


def test_a_failed_apply_an_unreachable_host_and_one_gone_before_the_role_keep_their_rows(fleet):
    """h2's namespace is missing (fails on the target), h3 is unreachable, h1 applies."""
    report = os.path.join(fleet.tmp, 'report')
    run = fleet.run({'reserved_ports_report': report}, env_extra=REFUSED,
                    host_vars={'h2': {'reserved_ports_netns': '/run/netns/portguard-test-missing'},
                               'h3': {'ansible_connection': 'refused'}})
    assert run.rc != 0, run
    recap = run.recap()
    assert (recap['h1'][:2], recap['h2'][:2], recap['h3'][:2]) == ((0, 0), (1, 0), (0, 1)), recap
    assert fleet.labs['h1'].reserved() == FLEET_RESERVED['h1'] + '\n'
    data, markdown = read_report(report)
    assert verdicts(data) == {'h1': 'protected', 'h2': 'failed', 'h3': 'unreachable'}
    assert data['hosts']['h2']['message'].startswith('reserved_ports_netns (module option netns): '), data['hosts']['h2']
    assert '/run/netns/portguard-test-missing' in data['hosts']['h2']['message']
    assert 'Connection refused' in data['hosts']['h3']['message'], data['hosts']['h3']
    for host, unknown in (('h2', 'unknown: failed'), ('h3', 'unknown: unreachable')):
        rows = [row for row in data['rows'] if row['host'] == host]
        assert rows and all(row['protected'] is None and row['message'] == unknown for row in rows), rows
    assert '| `h2` | failed |  | `reserved_ports_netns (module option netns): ' in markdown
    assert data['attention'] == ['h2', 'h3'] and data['counts']['unreachable'] == 1
    # A host that failed before the role (an earlier task of the play) keeps a row saying so.
    gone = fleet.run({'reserved_ports_report': report, 'portguard_test_fail_first': ['h3']},
                     playbook=os.path.join(HERE, 'playbooks', 'role_after_a_failing_task.yml'))
    assert gone.rc != 0 and gone.failed_results() == [('Fail on the hosts the test names', 'h3')], gone
    data, _markdown = read_report(report)
    assert verdicts(data) == {'h1': 'protected', 'h2': 'protected', 'h3': 'failed'}
    assert data['hosts']['h3']['message'].startswith("the host left the play before the role's apply step")


def test_a_single_host_that_fails_still_writes_its_report(lab, tmp_path):
    report = os.path.join(str(tmp_path), 'report')
    run = seed_run(lab, tmp_path, {'reserved_ports_report': report, 'reserved_ports_netns': '/run/netns/portguard-missing'})
    assert run.rc != 0 and run.failed_results() == [(APPLY_TASK, 'target')], run
    data, _markdown = read_report(report)
    assert verdicts(data) == {'target': 'failed'} and 'reserved_ports_netns' in data['hosts']['target']['message']


def test_strategy_free_fails_only_the_bad_host_and_reports_every_host(fleet):
    report = os.path.join(fleet.tmp, 'free')
    before = fleet.snapshots()
    run = fleet.run({'reserved_ports_report': report}, playbook=os.path.join(HERE, 'playbooks', 'role_free.yml'),
                    host_vars={'h3': {'reserved_ports_services_extra': [{'name': 'standby', 'port': 45432}]}})
    assert run.rc != 0, run
    assert_only_failed(run, 'h3', blocked=['h1', 'h2'])
    assert fleet.snapshots() == before
    data, _markdown = read_report(report)
    assert verdicts(data) == {'h1': 'not_run', 'h2': 'not_run', 'h3': 'failed'}
    good = fleet.run({'reserved_ports_report': report}, playbook=os.path.join(HERE, 'playbooks', 'role_free.yml'))
    assert good.rc == 0, good
    data, _markdown = read_report(report)
    assert verdicts(data) == {'h1': 'protected', 'h2': 'protected', 'h3': 'protected'}


def synthetic_inventory(path, hosts, bad=None):
    """``hosts`` local hosts, four services each from two group variables; ``bad`` gets a duplicate port."""
    inventory = {'all': {'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable},
                         'children': {'even': {'hosts': {}, 'vars': {}}, 'odd': {'hosts': {}, 'vars': {}}}}}
    groups = inventory['all']['children']
    groups['even']['vars']['reserved_ports_services_app'] = [{'name': 'app-a', 'port': 36601},
                                                             {'name': 'app-b', 'port': 37601}]
    groups['odd']['vars']['reserved_ports_services_app'] = [{'name': 'app-a', 'port': 36611},
                                                            {'name': 'app-b', 'port': 37611}]
    inventory['all']['vars']['reserved_ports_services_monitoring'] = [
        {'name': 'exporter', 'port': 9100}, {'name': 'agent', 'ports': ['42000-42009']}]
    for index in range(hosts):
        name = 'h%04d' % index
        host_vars = {'app_instance': index}
        if name == bad:
            host_vars['reserved_ports_services'] = [{'name': 'clash', 'port': 9100}]
        groups['even' if index % 2 == 0 else 'odd']['hosts'][name] = host_vars
    with open(path, 'w') as handle:
        yaml.safe_dump(inventory, handle)
    return path


def test_three_hundred_hosts_validate_and_one_bad_host_stops_them(lab, tmp_path):
    """A functional check at fleet size (the timing lives in make bench): validation only, no host touched."""
    home = os.path.join(str(tmp_path), 'ansible-home')
    good = run_playbook(lab, [synthetic_inventory(os.path.join(str(tmp_path), 'good.yml'), 300)],
                        args=['--tags', 'reserved_ports_validate', '--forks', '10'], home=home)
    assert good.rc == 0, good
    checks = good.host_results(PLAN_TASK)
    assert list(checks) == ['h0000'] and checks['h0000']['hosts'] == 300 and not checks['h0000'].get('failed')
    bad = run_playbook(lab, [synthetic_inventory(os.path.join(str(tmp_path), 'bad.yml'), 300, bad='h0150')],
                       args=['--tags', 'reserved_ports_validate', '--forks', '10'], home=home)
    assert bad.rc != 0, bad
    checks = bad.host_results(PLAN_TASK)
    assert list(checks) == ['h0000'] and checks['h0000']['failed'] is True
    # Validation only: no step per host follows, so the check itself fails, listing every problem once.
    assert checks['h0000']['problem_hosts'] == ['h0150']
    assert checks['h0000']['msg'].count('\n- host ') == 1
    assert bad.messages().count("host h0150: port 9100 is claimed by two services: 'clash'") == 1
    # any_errors_fatal: nothing after the validation ran on any host.
    ran = set(name.split(' : ', 1)[-1] for name, _result in bad.tasks())
    assert not [name for name in ran if name != PLAN_TASK and not name.startswith('Validating arguments')], ran
    assert lab.reserved() == '\n'


# --------------------------------------------------------------------------- examples/ and the demo

EXAMPLES = os.path.join(REPO, 'examples')
EXAMPLES_PLANNED = {
    'app1': '9100,36601,37601,38601,39601,41000,48125',
    'app2': '9100,36601,37601,38601,39601,48125',
    'db1': '5432,9100,46432,48125',
}


def test_examples_inventory_validates_and_plans_every_host(lab, tmp_path):
    """The whole example fleet in check mode, every host pointed at one lab: valid, planned, nothing written."""
    before = lab.snapshot()
    report = os.path.join(str(tmp_path), 'examples-report')
    run = run_playbook(lab, [os.path.join(EXAMPLES, 'inventory')],
                       {'ansible_connection': 'local', 'ansible_become': False, 'reserved_ports_report': report},
                       check=True, home=os.path.join(str(tmp_path), 'ansible-home'),
                       playbook=os.path.join(EXAMPLES, 'site.yml'))
    assert run.rc == 0, run
    applied = run.host_results(APPLY_TASK)
    assert dict((host, result['reserved']['after']['canonical']) for host, result in applied.items()) == EXAMPLES_PLANNED
    assert lab.snapshot() == before
    # Check mode writes a preview beside the report, never the report itself.
    assert not os.path.exists(report + '.json') and not os.path.exists(report + '.md')
    data, markdown = read_report(report, preview=True)
    discovered = [row for row in data['rows'] if row['service'] == 'app_metrics_port']
    assert [(row['host'], row['port'], row['protected']) for row in discovered] == [
        ('app1', 39601, True), ('app2', 39601, True)]
    assert markdown.startswith('# Reserved service ports (check mode: a preview, nothing was changed)')
    # The preview says so, and says what would change on each host.
    assert data['check_mode'] is True and data['message'].startswith('Preview (check mode): nothing was changed. 3 of')
    assert all(entry['last_run']['mode'] == 'preview' for entry in data['hosts'].values())
    assert data['hosts']['db1']['changes']['added'] == EXAMPLES_PLANNED['db1']
    assert '## What would change' in markdown and '| `db1` |  | 5432,9100,46432,48125 |' in markdown


def test_examples_apply_rerun_and_audit_as_a_user(lab, tmp_path):
    """examples/ as the README says: --check --diff, apply, rerun, audit; the rerun and the audit say nothing."""
    report = os.path.join(str(tmp_path), 'reports', 'ports')
    home = os.path.join(str(tmp_path), 'ansible-home')
    extra = {'ansible_connection': 'local', 'ansible_become': False, 'reserved_ports_report': report}
    loud = {'ANSIBLE_DEPRECATION_WARNINGS': 'true', 'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default'}

    def user_run(*args, **kwargs):
        return run_playbook(lab, [os.path.join(EXAMPLES, 'inventory')], extra, args=['--limit', 'app1'] + list(args),
                            home=home, playbook=os.path.join(EXAMPLES, 'site.yml'), env_extra=loud, **kwargs)

    preview = user_run(check=True, diff=True)
    assert preview.rc == 0, preview.proc.stdout[-3000:]
    assert '+net.ipv4.ip_local_reserved_ports = 9100,36601,37601,38601,39601,41000,48125' in preview.proc.stdout
    applied = user_run()
    assert applied.rc == 0 and 'changed=2' in applied.proc.stdout, applied.proc.stdout[-3000:]
    for again in (user_run(), user_run('--tags', 'reserved_ports_audit')):
        assert again.rc == 0, again.proc.stdout[-3000:]
        recap = again.proc.stdout[again.proc.stdout.index('PLAY RECAP'):]
        assert 'changed=0' in recap and 'failed=0' in recap, recap
        assert 'WARNING' not in again.proc.stdout + again.proc.stderr, again.proc.stdout + again.proc.stderr
        assert 'DEPRECATION' not in again.proc.stdout + again.proc.stderr, again.proc.stderr


def test_examples_readme_way_to_try_it_locally_works_and_writes_no_file(lab, tmp_path):
    """examples/README.md's commands (a copy of examples/, -c local, persist off) in a throw-away namespace."""
    with open(os.path.join(EXAMPLES, 'README.md')) as handle:
        readme = handle.read()
    command = ('ansible-playbook -i inventory site.yml --limit app1 -c local \\\n'
               '    -e ansible_become=false -e reserved_ports_persist=false --diff')
    assert command in readme
    copy = os.path.join(str(tmp_path), 'portguard-examples')
    shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns('reports'))
    before = lab.snapshot()
    argv = [nslab.VENV_BIN + '/ansible-playbook', '-i', os.path.join(copy, 'inventory'), os.path.join(copy, 'site.yml'),
            '--limit', 'app1', '-c', 'local', '-e', 'ansible_become=false', '-e', 'reserved_ports_persist=false',
            '--diff']
    run = Run(lab.run(argv, check=False, env=nslab.ansible_env(os.path.join(str(tmp_path), 'home'))))
    assert run.rc == 0, run.proc.stdout[-3000:]
    assert lab.reserved() == EXAMPLES_PLANNED['app1'] + '\n'
    after = lab.snapshot()['files']
    # Nothing under the sysctl.d tree; the live-only run keeps its owners' record in /run, as on a host.
    assert dict((rel, data) for rel, data in after.items() if not rel.startswith('run/portguard-ephemeral/')) \
        == before['files']
    assert os.path.exists(os.path.join(copy, 'reports', 'reserved-ports.json'))


def test_demo_runs_and_cleans_up():
    namespaces_before = set(os.listdir('/run/netns'))
    proc = subprocess.run([os.path.join(REPO, 'scripts', 'demo.sh')], capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert out.count('FAILED: OSError: [Errno 98] Address already in use') >= 1, out
    assert out.count(': started') == 3, out
    assert 'net.ipv4.ip_local_reserved_ports = 9100,36601,37601,38601,39601,41000,48125' in out
    assert '| `app1` | `app-2` | tcp | 37601 | yes | `reserved` |  |' in out
    assert 'ansible-playbook -i examples/inventory examples/site.yml' in out
    leftovers = [name for name in set(os.listdir('/run/netns')) - namespaces_before if name.startswith('pgdemo-')]
    assert leftovers == []


# --------------------------------------------------------------------------- the role's files

def _load(rel):
    with open(os.path.join(ROLE, rel)) as handle:
        return yaml.safe_load(handle)


def test_argument_specs_defaults_equal_defaults_main():
    defaults = _load('defaults/main.yml')
    options = _load('meta/argument_specs.yml')['argument_specs']['main']['options']
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert name.startswith('reserved_ports_')
        assert spec.get('default') == defaults[name], name
        if 'choices' in spec:
            assert defaults[name] in spec['choices'], name


# What the role's check (plugin_utils/_services.py SETTINGS) takes, by kind: the spec itself declares every
# variable raw, so that ansible-core's own argument check never fails first (tests/unit test_argument_specs.py).
CHECKED_TYPES = {'choice': 'str', 'int': 'int', 'bool': 'bool', 'str': 'str', 'path': 'path', 'netns': 'path',
                 'range': '"LOW HIGH" or [LOW, HIGH]', 'range_or_empty': '"LOW HIGH", [LOW, HIGH] or ""',
                 'patterns': 'list of str', 'listeners': 'list of ports, ranges or commands', 'owner': 'str'}


def _checked_type(name):
    from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _services  # pylint: disable=import-outside-toplevel
    if name == _services.SERVICES_VAR:
        return 'list of mappings'
    kinds = dict((_services.SETTING_VARS[key], kind) for key, kind, _detail in _services.SETTINGS)
    return CHECKED_TYPES[kinds[name]]


def readme_variables():
    """The README's variables section, as generated from meta/argument_specs.yml (types: the role's check)."""
    options = _load('meta/argument_specs.yml')['argument_specs']['main']['options']
    lines = ['| Variable | Type | Default | Description |', '|---|---|---|---|']
    for name, spec in options.items():
        default = json.dumps(spec.get('default'))
        text = re.sub(r'[CMVO]\(([^)]*)\)', r'`\1`', ' '.join(' '.join(spec['description']).split()))
        kind = _checked_type(name).replace('|', '\\|')
        lines.append('| `%s` | %s | `%s` | %s |' % (name, kind, default, text.replace('|', '\\|')))
    return '\n'.join(lines) + '\n'


def test_readme_variables_equal_the_argument_specs():
    with open(os.path.join(ROLE, 'README.md')) as handle:
        readme = handle.read()
    begin, end = '<!-- BEGIN VARIABLES (generated from meta/argument_specs.yml) -->\n', '<!-- END VARIABLES -->'
    assert begin in readme and end in readme
    section = readme.split(begin, 1)[1].split(end, 1)[0]
    assert section == readme_variables(), 'regenerate with: python %s --readme' % __file__


def _tasks(items):
    for task in items or []:
        yield task
        for key in ('block', 'rescue', 'always'):
            yield from _tasks(task.get(key))


def test_one_module_call_of_each_kind_no_loops_no_facts():
    calls = {}
    for path in glob.glob(os.path.join(ROLE, 'tasks', '*.yml')):
        with open(path) as handle:
            for task in _tasks(yaml.safe_load(handle)):
                keys = set(task)
                assert not any(key == 'loop' or key.startswith('with_') for key in keys), (path, task)
                assert 'ignore_errors' not in keys, (path, task)
                assert not keys & set(['ansible.builtin.setup', 'setup', 'ansible.builtin.gather_facts']), (path, task)
                assert 'always' not in task.get('tags', []), (path, task)
                for module in ('portguard.ephemeral.reserved_ports_plan', 'portguard.ephemeral.reserved_ports_apply',
                               'portguard.ephemeral.reserved_ports_report'):
                    calls[module] = calls.get(module, 0) + (module in keys)
    # Plan (controller), apply or audit (one module round trip each), report (controller, once).
    assert calls == {'portguard.ephemeral.reserved_ports_plan': 1, 'portguard.ephemeral.reserved_ports_apply': 2,
                     'portguard.ephemeral.reserved_ports_report': 1}


def test_ansible_doc_renders_the_role():
    proc = subprocess.run([os.path.join(nslab.VENV_BIN, 'ansible-doc'), '-t', 'role', 'portguard.ephemeral.reserved_ports'],
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=nslab.COLLECTIONS, ANSIBLE_NOCOLOR='1'))
    assert proc.returncode == 0, proc.stderr
    for name in _load('meta/argument_specs.yml')['argument_specs']['main']['options']:
        assert name in proc.stdout


if __name__ == '__main__' and sys.argv[1:] == ['--readme']:
    sys.stdout.write(readme_variables())
