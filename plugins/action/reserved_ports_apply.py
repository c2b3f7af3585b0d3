# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action reserved_ports_apply: plan this host's ports and apply them with local_ports (or audit) in one round trip."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _findings, _play_check, _services
from ansible_collections.portguard.ephemeral.plugins.plugin_utils._role_vars import plain

# The play-wide check's result, as the role registers it.
PLAN_VAR = '__reserved_ports_plan'
# The role variable behind each module option, for the module's own failure messages.
OPTION_VARS = {
    'netns': 'reserved_ports_netns', 'path': 'reserved_ports_path', 'min_ephemeral': 'reserved_ports_min_ephemeral',
    'range': 'reserved_ports_range', 'mode': 'reserved_ports_mode', 'live': 'reserved_ports_live',
    'persist': 'reserved_ports_persist', 'on_override': 'reserved_ports_on_override',
}
_OPTION_AT_START = re.compile(r'^(%s)\b' % '|'.join(sorted(OPTION_VARS)))


def role_message(result):
    """The module's failure message, naming the role variable when it names a module option."""
    msg = str(result.get('msg') or '')
    option = result.get('option') if result.get('option') in OPTION_VARS else None
    match = _OPTION_AT_START.match(msg)
    option = option or (match.group(1) if match else None)
    return '%s (module option %s): %s' % (OPTION_VARS[option], option, msg) if option else msg


class ActionModule(ActionBase):
    """Check this host's variables, then apply (or audit) its plan; the plan is in the result.

    A host with problems of its own fails with them; a host without any, while
    the play-wide check found problems on other hosts, changes nothing and is
    skipped (``blocked_by``).
    """

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('audit',))

    def _play_check(self, task_vars):
        """The play-wide check's result for this play run, or None without one.

        Registered once, it is every host's: only its scope is copied here, not its list of hosts.
        """
        value = task_vars.get(PLAN_VAR)
        if not isinstance(value, dict) or plain(value.get('scope') or {}).get('play') != _play_check.play_id(self._task):
            return None
        return value

    def _own_check(self, task_vars, checked):
        """(plan or None, problems) of this host, as the play-wide check saw them.

        The report paths were checked once for the play: their problems come from its result.
        """
        paths = plain((checked or {}).get('report_problems') or {})
        problems, _unknown, plan = _play_check.host_check(
            list(task_vars), lambda name: self._templar.template(task_vars[name]), lambda value: paths.get(value, []))
        return plan, problems

    def _refusal(self, result, task_vars, plan, problems, checked):
        """Fail (own problems) or skip (others' problems) this host; None when it may go on."""
        me = task_vars.get('inventory_hostname')
        found = (checked.get('problem_hosts') or []) if checked else None
        if problems:
            result.update(failed=True, changed=False, msg=_play_check.own_failure(me, problems, found is not None))
        elif found and me in found:
            result.update(failed=True, changed=False, msg=_play_check.own_failure(me, [
                'the play-wide check found a problem on this host that this step does not see: its variables '
                'changed in between (set_fact?); rerun the play'], True))
        elif found:
            # The first few names and the count, not the list: every blocked host keeps this result.
            first = [str(host) for host in found[:_play_check.WARN_HOSTS]]
            result.update(skipped=True, changed=False, blocked_by=first, blocked_by_count=len(found),
                          msg=_play_check.blocked(first, len(found)))
        else:
            return None
        if plan:
            result['plan'] = plan
        return result

    def _module(self, plan, audit, task_vars):
        args = plan['module_args']
        if audit:
            name = 'portguard.ephemeral.local_ports_info'
            args = dict((key, args[key]) for key in ('netns',) if key in args)
            args['examine'] = plan['module_args']['examine']
        else:
            name = 'portguard.ephemeral.local_ports'
        try:
            return self._execute_module(module_name=name, module_args=args, task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            # Unreachable at this step: the report still knows the host's plan.
            return {'unreachable': True, 'changed': False, 'msg': str(exc)}

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        checked = self._play_check(task_vars)
        plan, problems = self._own_check(task_vars, checked)
        if plan:
            result['report'] = plan['settings']['report']
        if self._refusal(result, task_vars, plan, problems, checked) is not None:
            return result
        audit = boolean(self._task.args.get('audit', False), strict=False)
        result.update(self._module(plan, audit, task_vars))
        result['plan'] = plan
        if result.get('unreachable'):
            return result
        self._remove_tmp_path(self._connection._shell.tmpdir)
        if result.get('failed'):
            result['msg'] = role_message(result)
        if result.get('failed') or result.get('skipped'):
            return result
        return self._judge(result, plan, audit)

    def _judge(self, result, plan, audit):
        """Warn or fail about held ports and listeners nobody declared, as the host's settings say."""
        failures, warned = [], []
        for problems, setting in ((_findings.held_problems(plan, result), 'on_held'),
                                  (_findings.listener_problems(_findings.undeclared_listeners(plan, result)),
                                   'on_undeclared_listeners')):
            if problems and plan['settings'][setting] == 'fail':
                failures.extend(problems)
            elif problems and plan['settings'][setting] == 'warn':
                warned.extend(problems)
        if audit:
            # Live values that lost what the boot values reserve: another tool or a sysctl run changed them.
            warned.extend(_findings.drift_problems(result))
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
                len(failures), '' if audit or self._play_context.check_mode else ' (the values were applied first)',
                '\n- '.join(failures))
        return result
