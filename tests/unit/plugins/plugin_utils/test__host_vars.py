# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run_once reader of every host's variables: what the strategy gives each host, at a constant cost per host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play import Play
from ansible.template import Templar
from ansible.vars.manager import VariableManager

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _host_vars

INVENTORY = '''
all:
  hosts:
    h1: {bench_port: 8001}
    h2: {bench_port: 8002}
    h3: {bench_port: 8003}
    h4: {bench_port: 8004}
  vars:
    shared_services: [{name: web, port: 80}]
    own_services: [{name: app, port: "{{ bench_port }}"}]
'''
EVERY = ['h1', 'h2', 'h3', 'h4']


class Lab(object):
    """A real inventory, variable manager, play and task, and the variables the strategy gives each host."""

    def __init__(self, tmp_path, batch=None, removed=()):
        path = tmp_path / 'inventory.yml'
        path.write_text(INVENTORY)
        self.loader = DataLoader()
        self.loader.set_basedir(str(tmp_path))
        self.inventory = InventoryManager(loader=self.loader, sources=[str(path)])
        self.manager = VariableManager(loader=self.loader, inventory=self.inventory)
        self.play = Play.load({'name': 'p', 'hosts': 'all', 'gather_facts': False, 'vars': {'play_level': 'p'},
                               'tasks': [{'name': 't', 'debug': {'msg': 'x'}}]},
                              variable_manager=self.manager, loader=self.loader)
        self.play._removed_hosts = list(removed)  # pylint: disable=protected-access
        self.task = self.play.get_tasks()[0][0]
        self.batch = list(batch or EVERY)

    def strategy_vars(self, host):
        """get_vars as the linear strategy calls it for this task on ``host`` (its cached host lists)."""
        return self.manager.get_vars(play=self.play, host=self.inventory.get_host(host), task=self.task,
                                     _hosts=list(self.batch), _hosts_all=list(EVERY))

    def reader(self, runner='h1', runner_vars=None):
        runner_vars = runner_vars if runner_vars is not None else self.strategy_vars(runner)
        return _host_vars.PlayVars(self.manager, self.play, self.task, Templar(loader=self.loader, variables=runner_vars),
                                   runner, runner_vars)


@pytest.mark.parametrize('batch, removed', [
    (EVERY, ()),
    (['h1', 'h2'], ()),        # a serial batch: ansible_play_batch is not the play
    (EVERY, ['h3']),           # h3 failed before: out of ansible_play_hosts and the batch
], ids=['play', 'serial-batch', 'removed-host'])
def test_each_host_sees_what_the_strategy_gives_it(tmp_path, batch, removed):
    lab = Lab(tmp_path, batch, removed)
    reader = lab.reader()
    for host in EVERY:
        expected = lab.strategy_vars(host)
        got = reader.variables(host)
        assert sorted(got) == sorted(expected)
        for name in sorted(expected):
            assert got[name] == expected[name], '%s: %s' % (host, name)


def test_the_play_lists_are_the_tasks_own_not_rebuilt_per_host(tmp_path):
    lab = Lab(tmp_path, ['h1', 'h2'], ['h4'])
    runner_vars = lab.strategy_vars('h1')
    reader = lab.reader(runner_vars=runner_vars)
    for name in _host_vars.PLAY_LIST_VARS:
        assert reader.variables('h3')[name] is runner_vars[name]
    assert reader.variables('h3')['ansible_play_hosts'] == ['h1', 'h2', 'h3']
    assert reader.variables('h3')['ansible_play_batch'] == ['h1', 'h2']


def test_values_are_templated_per_host_and_plain_values_once(tmp_path):
    lab = Lab(tmp_path)
    reader = lab.reader()
    seen = {}
    for host in EVERY:
        names, get = reader.read(host)
        assert 'own_services' in names and 'play_level' in names
        assert [(item['name'], str(item['port'])) for item in get('own_services')] == [('app', str(8000 + int(host[1])))]
        seen[host] = get('shared_services')
        assert get('play_level') == 'p'
    # No template in it, one object for every host (group vars): rendered once for them all.
    assert seen['h1'] is seen['h2'] is seen['h3'] is seen['h4']
    assert [dict(item) for item in seen['h1']] == [dict(item) for item in seen['h4']] == [{'name': 'web', 'port': 80}]


def test_an_unknown_host_cannot_be_read(tmp_path):
    with pytest.raises(KeyError, match='no host nowhere'):
        Lab(tmp_path).reader().variables('nowhere')


class CountingTemplar(object):
    def __init__(self, host):
        self.host, self.calls = host, []

    def template(self, value):
        self.calls.append(value)
        return value.replace('{{ host }}', self.host) if isinstance(value, str) else list(value)


def test_rendered_keeps_only_what_holds_no_template():
    rendered = _host_vars.Rendered(lambda value: isinstance(value, str) and '{{' in value)
    plain, templated = [1, 2], 'on {{ host }}'
    first, second = CountingTemplar('a'), CountingTemplar('b')
    assert rendered.get(first, plain) == [1, 2] and rendered.get(second, plain) is rendered.get(first, plain)
    assert (rendered.get(first, templated), rendered.get(second, templated)) == ('on a', 'on b')
    assert (first.calls, second.calls) == ([plain, templated], [templated])
    # Another object with the same value is rendered on its own (identity, not equality).
    assert rendered.get(second, [1, 2]) == [1, 2] and second.calls[-1] == [1, 2]


def test_reading_a_host_does_not_list_the_plays_hosts(tmp_path, monkeypatch):
    """The cost per host does not grow with the play: no inventory host list is built per host read."""
    lab = Lab(tmp_path)
    reader = lab.reader()
    calls = []
    real = lab.inventory.get_hosts
    monkeypatch.setattr(lab.inventory, 'get_hosts', lambda *args, **kwargs: calls.append(args) or real(*args, **kwargs))
    for host in EVERY:
        reader.variables(host)
    assert calls == []


def test_play_lists_are_set_in_every_nested_vars_level():
    """ansible-core 2.20+ nests vars in vars (a copy taken while vars was filled); every level gets the task's lists."""
    inner = {'play_hosts': ['h2'], 'other': 1}
    host_vars = {'play_hosts': ['h2'], 'vars': {'play_hosts': ['h2'], 'vars': inner}}
    task_vars = {'play_hosts': ['h1', 'h2'], 'vars': {'play_hosts': ['h1', 'h2'], 'vars': {'play_hosts': ['h1', 'h2']}}}
    got = _host_vars.with_play_lists(host_vars, task_vars)
    assert got['play_hosts'] == got['vars']['play_hosts'] == inner['play_hosts'] == ['h1', 'h2']
    assert inner['other'] == 1


def test_play_lists_stop_at_a_vars_that_holds_itself():
    looped = {'play_hosts': ['h2']}
    looped['vars'] = looped
    task_vars = {'play_hosts': ['h1'], 'vars': {'play_hosts': ['h1']}}
    assert _host_vars.with_play_lists(looped, task_vars)['play_hosts'] == ['h1']
