# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action reserved_ports_plan: validate one host's role variables on the controller and plan its ports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _role_vars, _services


class ActionModule(ActionBase):
    """Runs on the controller only; reads this host's variables once, connects to nothing."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()
    _requires_connection = False

    def _own_input(self, task_vars):
        def get(name):
            return self._templar.template(task_vars[name])
        return _role_vars.collect(list(task_vars), get)

    def _outside_batch(self, task_vars, host, settings):
        """Problems of the play's hosts outside this batch, checked by the first host of the first batch.

        Those are the hosts of later `serial` batches, and hosts that already
        failed before this task (the role's argument-spec check, an earlier task,
        unreachable): any problem among them stops the play here too.  Their
        variables come from hostvars (inventory and facts; role defaults and role
        parameters are taken from this host).  Cost: once per play, one read of
        each such host.
        """
        batch = list(task_vars.get('ansible_play_batch') or [])
        every = list(task_vars.get('ansible_play_hosts_all') or [])
        active = frozenset(task_vars.get('ansible_play_hosts') or [])
        if not batch or batch[0] != host or len(batch) >= len(every) or host not in every:
            return []
        if any(other in active for other in every[:every.index(host)]):
            return []  # an earlier batch ran: this is not the first one
        hostvars = task_vars.get('hostvars')
        inputs = []
        problems = []
        in_batch = frozenset(batch)
        for other in every:
            if other in in_batch:
                continue
            try:
                other_vars = hostvars[other]
                names = list(other_vars)
            except Exception as exc:  # pylint: disable=broad-except
                problems.append('host %s: its variables cannot be read: %s' % (other, exc))
                continue
            other_input, read_problems = _role_vars.collect(names, other_vars.__getitem__, settings)
            problems.extend('host %s: %s' % (other, problem) for problem in read_problems)
            inputs.append((other, other_input))
        return problems + _services.fleet_problems(inputs)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        host = task_vars.get('inventory_hostname', '?')

        host_input, problems = self._own_input(task_vars)
        plan, plan_problems = _services.host_plan(host_input)
        problems = ['host %s: %s' % (host, problem) for problem in problems + plan_problems]

        settings = dict(_services.DEFAULT_SETTINGS)
        settings.update(host_input['settings'])
        unknown = _role_vars.unknown_var_messages(list(task_vars))
        if unknown and settings.get('on_unknown_vars') == 'fail':
            problems.extend('host %s: %s' % (host, message) for message in unknown)
        elif unknown:
            result['warnings'] = unknown
        problems.extend(self._outside_batch(task_vars, host, host_input['settings']))

        result['changed'] = False
        if problems:
            batch = frozenset(task_vars.get('ansible_play_batch') or [])
            serial = any(other not in batch for other in task_vars.get('ansible_play_hosts') or [])
            scope = 'no host of this serial batch was changed' if serial else 'nothing was changed on any host'
            result['failed'] = True
            result['msg'] = ('reserved_ports: %d problem(s) in the service declarations; %s:\n- %s'
                             % (len(problems), scope, '\n- '.join(problems)))
            return result
        result.update(plan)
        return result
