# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many writers, one key (issue 19), through ansible-playbook in a private namespace: tasks, owners, the role,
several playbooks at once, and a reboot applied by the real systemd-sysctl."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess

import nslab
import sysctl_oracle
import yaml
from modrun import FILE, file_holdings, file_line, live_set, RES_LINE

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ONE = os.path.join(HERE, 'playbooks', 'local_ports.yml')


def play(lab, tasks, name='play.yml', **kwargs):
    """Write a playbook of ``tasks`` (on localhost) into the lab and run it; the PlaybookRun."""
    path = lab.put(name, yaml.safe_dump([{'name': 'Tasks', 'hosts': 'localhost', 'gather_facts': False,
                                          'tasks': tasks}]))
    return lab.playbook(path, **kwargs)


def task(name, **args):
    return {'name': name, 'portguard.ephemeral.local_ports': args}


def results(run):
    return [result for _name, result in run.tasks()]


def test_two_tasks_without_an_owner_never_undo_each_other(lab):
    """The issue's first example: each run used to report changed=2 and end with only 46432 reserved."""
    tasks = [task('first', reserved=[36601]), task('second', reserved=[46432])]
    first = play(lab, tasks, expect_rc=0)
    assert [r['changed'] for r in results(first)] == [True, True]
    assert live_set(lab) == frozenset([36601, 46432])
    again = play(lab, tasks, expect_rc=0)
    assert [r['changed'] for r in results(again)] == [False, False] and again.stats['changed'] == 0
    assert live_set(lab) == frozenset([36601, 46432])
    assert file_holdings(lab).owners == {'unnamed': frozenset([36601, 46432])}


def _examples():
    source = open(os.path.join(REPO, 'plugins', 'modules', 'local_ports.py')).read()
    text = source.split("EXAMPLES = r'''", 1)[1].split("'''", 1)[0]
    return yaml.safe_load(text)


def test_the_module_examples_run_in_order_lose_nothing(lab):
    examples = [example for example in _examples() if 'netns' not in example['portguard.ephemeral.local_ports']]
    assert len(examples) >= 4
    kept = set()
    for index, example in enumerate(examples):
        run = play(lab, [example], name='example-%d.yml' % index, expect_rc=0)
        args = example['portguard.ephemeral.local_ports']
        ports = _ports.parse_ports(args['reserved'])
        if args.get('state') == 'absent':
            kept -= ports
        else:
            kept |= ports
        # Nothing an earlier example reserved (and no later one released) is lost.
        assert kept <= live_set(lab), (example['name'], sorted(kept - live_set(lab)))
        assert results(run)[0]['changed']
    assert live_set(lab) == kept
    # All of them again, in order: only the pair that adds a port and releases it again changes anything,
    # and the owners' ports stay.
    rerun = play(lab, examples, name='examples.yml', expect_rc=0)
    changed = [example['name'] for example, result in zip(examples, results(rerun)) if result['changed']]
    assert changed == [example['name'] for example in examples if 'owner' not in example['portguard.ephemeral.local_ports']]
    assert live_set(lab) == kept


def test_the_role_and_module_tasks_with_other_owners_live_side_by_side(lab):
    lab.write_sysctl(nslab.RESERVED, '5000\n')   # another tool's live reservation
    playbook = [
        {'name': 'The role', 'hosts': 'localhost', 'gather_facts': False,
         'vars': {'reserved_ports_services_app': [{'name': 'blue', 'port': 36601}, {'name': 'green', 'port': 37601}]},
         'roles': [{'role': 'portguard.ephemeral.reserved_ports'}]},
        {'name': 'Module tasks', 'hosts': 'localhost', 'gather_facts': False,
         'tasks': [task('Billing', owner='billing', reserved=[46432]),
                   task('Metrics, live only', owner='metrics', reserved=[9100], persist=False)]},
    ]
    path = lab.put('site.yml', yaml.safe_dump(playbook))
    first = lab.playbook(path, expect_rc=0)
    assert live_set(lab) == frozenset([5000, 36601, 37601, 46432, 9100])
    for _round in range(2):
        again = lab.playbook(path, expect_rc=0)
        assert again.stats['changed'] == 0, again
        assert not [r for _n, r in again.tasks() if r.get('warnings')], again
    assert file_holdings(lab).owners == {'reserved_ports': frozenset([36601, 37601]), 'billing': frozenset([46432])}
    assert _ports.parse_kernel_string(file_line(lab, RES_LINE)) == frozenset([36601, 37601, 46432])
    applied = first.result('portguard.ephemeral.reserved_ports : Reserve the service ports and set the ephemeral range')
    assert applied['owner'] == 'reserved_ports'
    # The role drops a service: only its port goes; the module tasks' and the other tool's stay.
    fewer = dict(playbook[0], vars={'reserved_ports_services_app': [{'name': 'blue', 'port': 36601}]})
    lab.playbook(lab.put('fewer.yml', yaml.safe_dump([fewer])), expect_rc=0)
    assert live_set(lab) == frozenset([5000, 36601, 46432, 9100])


PARALLEL = 6


def test_several_playbooks_at_once_with_different_owners_lose_and_steal_nothing(lab):
    """Separate ansible-playbook processes, each its own owner and set, three rounds, all at once."""
    lab.write_sysctl(nslab.RESERVED, '60500-60510\n')
    env = nslab.ansible_env(os.path.join(lab.root, '.ansible'))
    finals = {}
    for round_ in range(3):
        procs = []
        for index in range(PARALLEL):
            owner = 'team%d' % index
            base = 20000 + index * 1000
            ports = ['%d-%d' % (base, base + 9 - round_ * 3), base + 500 + round_]
            finals[owner] = _ports.parse_ports(ports)
            argv = nslab.playbook_argv(ONE, ['localhost,'], {'lp': {'owner': owner, 'reserved': ports}},
                                       False, False, (), local=True, python=nslab.TARGET_PYTHON)
            procs.append(lab.spawn(argv, env=dict(os.environ, **env), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True))
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, out[-3000:] + err[-2000:]
    union = frozenset().union(*finals.values())
    assert live_set(lab) == union | frozenset(range(60500, 60511))
    assert file_holdings(lab).owners == finals
    assert _ports.parse_kernel_string(file_line(lab, RES_LINE)) == union
    for owner, ports in finals.items():
        rerun = lab.playbook(ONE, {'lp': {'owner': owner, 'reserved': sorted(ports)}}, expect_rc=0)
        assert rerun.stats['changed'] == 0


def test_after_a_reboot_every_owner_still_releases_exactly_its_own_ports(lab):
    lab.put('etc/sysctl.d/90-kubelet.conf', 'net.ipv4.ip_local_reserved_ports = 30000-30009\n')
    lab.playbook(ONE, {'lp': {'owner': 'a', 'reserved': [36601, 37601]}}, expect_rc=0)
    lab.playbook(ONE, {'lp': {'owner': 'b', 'reserved': [37601, 46432]}}, expect_rc=0)
    # The boot, as systemd-sysctl applies the lab's files in a fresh namespace.
    boot = sysctl_oracle.apply('/', lab.root, sysctl_oracle.SYSTEMD_SYSCTL)
    booted = _ports.parse_kernel_readback(boot['reserved'])
    assert booted == frozenset(list(range(30000, 30010)) + [36601, 37601, 46432])
    # The lab namespace reboots: the kernel holds the boot values and /run is empty again.
    lab.write_sysctl(nslab.RESERVED, boot['reserved'])
    shutil.rmtree(lab.file('run/portguard-ephemeral'))
    released = lab.playbook(ONE, {'lp': {'owner': 'a', 'reserved': []}}, expect_rc=0).result('Apply')
    assert released['released']['canonical'] == '36601'   # 37601 is b's too; kubelet's stay
    released = lab.playbook(ONE, {'lp': {'owner': 'b', 'reserved': []}}, expect_rc=0).result('Apply')
    assert released['released']['canonical'] == '37601,46432'
    assert live_set(lab) == frozenset(range(30000, 30010))
    assert json.loads(json.dumps(file_holdings(lab).owners)) == {}
    assert os.path.exists(lab.file(FILE))
