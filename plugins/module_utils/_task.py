# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the modules run a task: AnsibleModule around the work, TaskError as the failure, warnings as the task's.

Private to the collection; standard library and AnsibleModule only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.basic import AnsibleModule


class TaskError(Exception):
    """Fail the task with this message (and ``details`` as result keys); nothing was changed, or it was restored."""

    def __init__(self, msg, **details):
        super(TaskError, self).__init__(msg)
        self.details = details


def run_module(argument_spec, what, work, **module_kwargs):
    """Build the AnsibleModule (check mode supported), run ``work(module)`` and exit with its result.

    ``work`` returns the result dict (with ``warnings``) or raises TaskError.
    ``what`` completes "portguard.ephemeral.<name> ... Linux sysctls", e.g.
    ``'local_ports manages'``, for the refusal on another operating system.
    Never returns.
    """
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **module_kwargs)
    system = os.uname()[0]
    if system != 'Linux':
        module.fail_json(msg='portguard.ephemeral.%s Linux sysctls; this host runs %s' % (what, system))
    try:
        result = work(module)
    except TaskError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    # Warnings travel the standard way, as the task's `warnings`.
    for warning in result.pop('warnings'):
        module.warn(warning)
    module.exit_json(**result)
