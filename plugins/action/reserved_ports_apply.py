# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action reserved_ports_apply: run this host's plan through local_ports (or local_ports_info) in one round trip."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _report
from ansible_collections.portguard.ephemeral.plugins.plugin_utils._role_vars import plain

PLAN_VAR = '__reserved_ports_plan'


class ActionModule(ActionBase):
    """Apply (or audit) the plan that reserved_ports_plan registered for this host."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('audit',))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        plan = plain(task_vars.get(PLAN_VAR))
        if not isinstance(plan, dict) or 'module_args' not in plan:
            result.update(failed=True, msg='reserved_ports_apply: no plan for this host (%s is not set); '
                                           'it runs after portguard.ephemeral.reserved_ports_plan, as in the role'
                          % PLAN_VAR)
            return result
        audit = boolean(self._task.args.get('audit', False), strict=False)
        args = plan['module_args']
        if audit:
            name = 'portguard.ephemeral.local_ports_info'
            args = dict((key, args[key]) for key in ('netns',) if key in args)
            args['ports'] = plan['module_args']['examine']
        else:
            name = 'portguard.ephemeral.local_ports'
        result.update(self._execute_module(module_name=name, module_args=args, task_vars=task_vars))
        self._remove_tmp_path(self._connection._shell.tmpdir)
        if result.get('failed') or result.get('skipped'):
            return result
        failures = []
        warned = []
        for problems, setting in ((_report.held_problems(plan, result), 'on_held'),
                                  (_report.listener_problems(_report.undeclared_listeners(plan, result)),
                                   'on_undeclared_listeners')):
            if problems and plan['settings'][setting] == 'fail':
                failures.extend(problems)
            elif problems and plan['settings'][setting] == 'warn':
                warned.extend(problems)
        if audit:
            # Live values that lost what the boot values reserve: another tool or a sysctl run changed them.
            warned.extend(_report.drift_problems(result))
        if warned:
            # A new list: the module's own may already be held by ansible-core (2.21 would show ours twice).
            result['warnings'] = list(result.get('warnings') or []) + warned
        if failures:
            result['failed'] = True
            result['msg'] = 'reserved_ports: %d problem(s) with the service ports on this host%s:\n- %s' % (
                len(failures), '' if audit or self._play_context.check_mode else ' (the values were applied first)', '\n- '.join(failures))
        return result
