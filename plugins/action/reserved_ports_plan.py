# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action reserved_ports_plan: validate the role variables of every host of the play, once, on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _host_vars, _play_check, _report_files
from ansible_collections.portguard.ephemeral.plugins.plugin_utils._role_vars import plain

FREE_STRATEGIES = ('free', 'ansible.builtin.free')


class ActionModule(ActionBase):
    """Runs once (run_once) on the controller; reads each host's variables once; connects to nothing.

    It never fails for a host's problem: it returns the hosts that have one
    (``problem_hosts``), so that each of them fails at its own apply step and
    the others change nothing.
    """

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()
    _requires_connection = False

    def _reader(self, task_vars, runner):
        """read(host) -> (names, get(name)) over that host's variables as its own tasks see them.

        The variables the strategy would give this task on that host: inventory, facts, play vars and
        vars_files, role defaults and parameters, extra vars (``_host_vars``: constant cost per host).
        """
        return _host_vars.PlayVars(self._task.get_variable_manager(), self._task.get_play(), self._task,
                                   self._templar, runner, task_vars).read

    def _registered(self, value, scope):
        """A result this task registered earlier in the same play run and batch, or None."""
        value = plain(value)
        if isinstance(value, dict) and value.get('scope') == scope and isinstance(value.get('problem_hosts'), list):
            return value
        return None

    def _earlier_batches(self, task_vars, every, batch):
        """The problem hosts the first serial batch found (from a host of an earlier batch), or []."""
        name, play = _play_check.register_name(self._task), _play_check.play_id(self._task)
        hostvars = task_vars.get('hostvars') or {}
        if not name:
            return []
        batch = frozenset(batch)
        for host in every:
            if host in batch:
                break
            try:
                value = plain(hostvars[host].get(name))
            except Exception:  # pylint: disable=broad-except
                continue
            if isinstance(value, dict) and (value.get('scope') or {}).get('play') == play:
                return [item for item in value.get('problem_hosts') or [] if item not in batch]
        return []

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        runner = task_vars.get('inventory_hostname', '?')
        result['changed'] = False
        if not self._task.run_once:
            result.update(failed=True, msg='reserved_ports_plan checks every host of the play in one run: '
                                           'give the task run_once: true, as the role does')
            return result
        every = list(task_vars.get('ansible_play_hosts_all') or [runner])
        batch = list(task_vars.get('ansible_play_batch') or every)
        scope = {'play': _play_check.play_id(self._task), 'batch': [batch[0], len(batch)]}
        register = _play_check.register_name(self._task)
        if self._task.get_play().strategy in FREE_STRATEGIES and register:
            # Under strategy free every host runs this task itself: the first result is every host's.
            earlier = self._registered(task_vars.get(register), scope)
            if earlier is not None:
                result.update(hosts=earlier['hosts'], problem_hosts=earlier['problem_hosts'], scope=scope)
                return result
        hosts = _play_check.hosts_to_check(every, batch, task_vars.get('ansible_play_hosts'), runner)
        paths = _play_check.cached(lambda value: _report_files.path_problems(value, bool(self._play_context.check_mode)))
        problems, warnings = _play_check.check_hosts(hosts, self._reader(task_vars, runner), paths)
        found = list(problems)
        found += [host for host in self._earlier_batches(task_vars, every, batch) if host not in problems]
        result.update(hosts=len(hosts), problem_hosts=found, scope=scope, report_problems=paths.seen())
        if problems and _play_check.validate_only(task_vars.get('ansible_run_tags'), task_vars.get('ansible_skip_tags')):
            result.update(failed=True, msg=_play_check.failure_message(problems, len(hosts) >= len(every)))
        elif found:
            active = frozenset(task_vars.get('ansible_play_hosts') or [])
            gone = dict((host, problems[host]) for host in problems if host not in active)
            result['msg'] = _play_check.play_summary(found, gone)
            warnings = warnings + [result['msg']]
        if warnings:
            result['warnings'] = warnings
        return result
