# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action reserved_ports_plan: validate the role variables of every host of the play, once, on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _play_check


class ActionModule(ActionBase):
    """Runs once (run_once) on the controller; reads each host's variables once; connects to nothing."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()
    _requires_connection = False

    def _reader(self, task_vars, runner):
        """read(host) -> (names, get(name)) over that host's variables as its own tasks see them."""
        manager = self._task.get_variable_manager()
        play = self._task.get_play()

        def read(host):
            if host == runner:
                host_vars, templar = task_vars, self._templar
            else:
                # The variables the strategy would give this task on that host: inventory, facts,
                # play vars and vars_files, role defaults and parameters, extra vars.
                host_vars = manager.get_vars(play=play, host=manager._inventory.get_host(host), task=self._task)
                templar = self._templar.copy_with_new_env(available_variables=host_vars)
            return list(host_vars), lambda name: templar.template(host_vars[name])
        return read

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        runner = task_vars.get('inventory_hostname', '?')
        result['changed'] = False
        if not self._task.run_once:
            result.update(failed=True, msg='reserved_ports_plan checks every host of the play in one run: '
                                           'give the task run_once: true (and any_errors_fatal: true), as the role does')
            return result
        every = task_vars.get('ansible_play_hosts_all')
        hosts = _play_check.hosts_to_check(every, task_vars.get('ansible_play_batch'),
                                           task_vars.get('ansible_play_hosts'), runner)
        problems, warnings = _play_check.check_hosts(hosts, self._reader(task_vars, runner))
        result['hosts'] = len(hosts)
        if warnings:
            result['warnings'] = warnings
        if problems:
            result.update(failed=True, msg=_play_check.failure_message(problems, len(hosts) >= len(every or hosts)))
        return result
