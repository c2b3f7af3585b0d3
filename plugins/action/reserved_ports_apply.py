# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action reserved_ports_apply: plan this host's ports and apply them with local_ports (or audit) in one round trip."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _report, _role_vars, _services


class ActionModule(ActionBase):
    """Plan this host's ports from its own variables, then apply (or audit) them; the plan is in the result."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('audit',))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        host_input, problems = _role_vars.collect(list(task_vars), lambda name: self._templar.template(task_vars[name]))
        plan, plan_problems = _services.host_plan(host_input)
        if problems or plan_problems:
            result.update(failed=True, changed=False, msg='reserved_ports: %d problem(s) in the service declarations '
                                                          'of this host; nothing was changed on it:\n- %s'
                          % (len(problems + plan_problems), '\n- '.join(problems + plan_problems)))
            return result
        audit = boolean(self._task.args.get('audit', False), strict=False)
        args = plan['module_args']
        if audit:
            name = 'portguard.ephemeral.local_ports_info'
            args = dict((key, args[key]) for key in ('netns',) if key in args)
            args['examine'] = plan['module_args']['examine']
        else:
            name = 'portguard.ephemeral.local_ports'
        result.update(self._execute_module(module_name=name, module_args=args, task_vars=task_vars))
        self._remove_tmp_path(self._connection._shell.tmpdir)
        result['plan'] = plan
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
        else:
            # Back from move_range to reserve: the persisted range stays; say so (one sentence per host and run).
            left = _services.moved_range_left(plan, result)
            warned.extend([left] if left else [])
        if warned:
            # A new list: the module's own may already be held by ansible-core (2.21 would show ours twice).
            result['warnings'] = list(result.get('warnings') or []) + warned
        if failures:
            result['failed'] = True
            result['msg'] = 'reserved_ports: %d problem(s) with the service ports on this host%s:\n- %s' % (
                len(failures), '' if audit or self._play_context.check_mode else ' (the values were applied first)', '\n- '.join(failures))
        return result
