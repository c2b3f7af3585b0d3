# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench's scale part stays meaningful: its generated inventory is what
docs/benchmarks.md says, and both of its playbooks pass their own checks on it.

No timing here: bench/part_scale.py measures, this only runs its commands once
on a dozen synthetic hosts (ansible_connection=local, nothing applied).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'bench'))

import bench_targets  # noqa: E402  pylint: disable=wrong-import-position,import-error
import part_scale  # noqa: E402  pylint: disable=wrong-import-position,import-error

HOSTS = 12


def scale_env(tmp_path):
    inv = part_scale.write_inventory(str(tmp_path), HOSTS)
    env = part_scale.base_env(part_scale.write_cfg(str(tmp_path), 5))
    env['ANSIBLE_HOME'] = str(tmp_path / 'ansible-home')
    return inv, env


def test_scale_inventory_gives_each_host_four_entries_from_two_group_variables(tmp_path):
    inv, env = scale_env(tmp_path)
    proc = subprocess.run([os.path.join(part_scale.VENV_BIN, 'ansible-inventory'), '-i', inv, '--list'],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    hostvars = data['_meta']['hostvars']
    assert len(hostvars) == HOSTS
    ports = set()
    for name, hvars in hostvars.items():
        merged = [k for k in hvars if k.startswith('reserved_ports_services_')]
        assert sorted(merged) == ['reserved_ports_services_app', 'reserved_ports_services_web'], name
        assert len(hvars['reserved_ports_services_web']) == 2
        assert len(hvars['reserved_ports_services_app']) == 2
        assert hvars['reserved_ports_services_app'][0]['port'] == '{{ bench_app_port }}'
        ports.add(hvars['bench_app_port'])
        assert hvars['ansible_connection'] == 'local'
    assert len(ports) == HOSTS  # the per-host variation


def test_scale_floor_and_role_pass_the_bench_checks(tmp_path):
    inv, env = scale_env(tmp_path)
    cmds = part_scale.commands(inv)
    for kind in part_scale.KINDS:
        proc = subprocess.run(cmds[kind], env=env, cwd=str(tmp_path), capture_output=True, text=True, check=False)
        # Raises part_scale.ScaleError with the reason unless rc 0, every host in the
        # recap, nothing changed or failed, and at least the expected tasks ran.
        summary = part_scale.check(kind, proc.returncode, proc.stdout, HOSTS)
        assert summary['tasks_per_host_ok_skipped'], proc.stdout[-2000:]
    assert 'reserved_ports_validate' in cmds['role']


def test_targets_from_partial_results():
    targets = bench_targets.compute_targets({
        'role_rerun_over_floor': 1.2, 'role_first_over_floor': 1.7,
        'scale_hosts': [100, 1000, 3000], 'scale_role_over_floor': {'100': 2.0, '1000': 3.1, '3000': 2.9},
        'scale_growth': 0.94, 'scale_growth_reference_hosts': 1000,
    })
    assert 'baseline_over_role_first' not in targets
    assert targets['role_rerun_over_floor']['met'] is True
    assert targets['role_first_over_floor']['met'] is False
    assert targets['scale_role_over_floor']['value'] == 3.1 and targets['scale_role_over_floor']['at_hosts'] == 1000
    assert targets['scale_role_over_floor']['met'] is False
    assert targets['scale_growth']['met'] is True
    assert targets['ssh_role_rerun_over_floor']['met'] is None
    assert targets['plan_worst_case_ms']['value'] is None


def test_scale_targets_of_issue_26_memory_from_3000_hosts():
    targets = bench_targets.compute_targets({
        'scale_hosts': [100, 1000, 3000, 10000],
        'scale_role_over_floor': {'100': 1.2, '1000': 1.5, '3000': 1.55, '10000': 1.6},
        'scale_growth': 1.07, 'scale_growth_reference_hosts': 1000,
        'scale_rss_over_floor': {'100': 3.0, '1000': 2.0, '3000': 1.4, '10000': 1.52},
    })
    assert targets['scale_role_over_floor']['met'] is True and targets['scale_role_over_floor']['at_hosts'] == 10000
    assert targets['scale_growth']['met'] is False
    memory = targets['scale_rss_over_floor']
    assert (memory['value'], memory['at_hosts'], memory['met']) == (1.52, 10000, False)


def _run(wall, rss, pss, load=1.0):
    return {'rep': 1, 'wall_s': wall, 'peak_tree_rss_mb': rss, 'peak_tree_pss_mb': pss, 'loadavg_1m_before': load}


def test_scale_summary_has_both_trees_memory_and_the_load():
    raw = {'100': {'floor': [_run(1.0, 200.0, 80.0)], 'role': [_run(1.5, 300.0, 100.0, 2.5)], 'own': [_run(0.5, 100.0, 50.0)]},
           '1000': {'floor': [_run(10.0, 400.0, 160.0)], 'role': [_run(14.0, 500.0, 200.0)], 'own': [_run(1.0, 120.0, 60.0)]}}
    summary = part_scale.summarize(raw, [100, 1000], [1, 1], 5, {})
    assert summary['scale_rss_over_floor'] == {'100': 1.5, '1000': 1.25}
    assert summary['scale_pss_over_floor'] == {'100': 1.25, '1000': 1.25}
    assert summary['scale_floor_peak_pss_mb'] == {'100': 80.0, '1000': 160.0}
    assert summary['scale_own_peak_rss_mb'] == {'100': 100.0, '1000': 120.0}
    assert summary['scale_load_1m_max'] == {'100': 2.5, '1000': 1.0}
    assert summary['scale_growth'] == 0.93 and summary['scale_role_over_floor'] == {'100': 1.5, '1000': 1.4}


def test_scale_hosts_target_an_absent_namespace_and_the_part_refuses_when_it_exists(tmp_path, monkeypatch):
    """A mistaken apply on the synthetic local hosts fails on the namespace, never writes this machine's own."""
    with open(part_scale.write_inventory(str(tmp_path), 2)) as handle:
        inventory = json.load(handle)
    assert inventory['all']['vars']['reserved_ports_netns'] == part_scale.ABSENT_NETNS
    assert not os.path.lexists(part_scale.ABSENT_NETNS)
    present = tmp_path / 'netns-present'
    present.write_text('')
    monkeypatch.setattr(part_scale, 'ABSENT_NETNS', str(present))
    with pytest.raises(part_scale.ScaleError, match='netns-present exists'):
        part_scale.run(str(tmp_path / 'work'), [2], [1], 5, lambda *args: None)
