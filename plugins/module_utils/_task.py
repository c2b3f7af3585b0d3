# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the modules end a task: TaskError becomes the failure, the work's warnings the task's warnings.

Private to the collection; standard library only (the work imports TaskError without Ansible).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


class TaskError(Exception):
    """Fail the task with this message (and ``details`` as result keys); nothing was changed, or it was restored."""

    def __init__(self, msg, **details):
        super(TaskError, self).__init__(msg)
        self.details = details


def run_task(module, what, work):
    """Run ``work()`` (the result dict, with ``warnings``) for the AnsibleModule ``module`` and exit; never returns.

    ``what`` completes "portguard.ephemeral.<name> ... Linux sysctls", e.g.
    ``'local_ports manages'``, for the refusal on another operating system.
    """
    system = os.uname()[0]
    if system != 'Linux':
        module.fail_json(msg='portguard.ephemeral.%s Linux sysctls; this host runs %s' % (what, system))
    try:
        result = work()
    except TaskError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    # Warnings travel the standard way, as the task's `warnings`.
    for warning in result.pop('warnings'):
        module.warn(warning)
    module.exit_json(**result)
