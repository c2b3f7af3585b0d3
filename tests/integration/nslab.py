# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throw-away targets for integration tests: a private network namespace with
its own sysctl.d directories (scripts/portguard_tools/netns_lab.py, shared with
`make demo`), plus ansible-playbook runs inside one and their JSON results.

Every sysctl write made by a test goes through ``Lab.write_sysctl`` or runs
inside ``Lab.run``; both check, right before acting, that the process is in the
lab's namespace and not in the machine's own.  They fail closed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'scripts')
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)

# The names the tests use: nslab.Lab, nslab.RESERVED, nslab.VENV_BIN...
# pylint: disable-next=wrong-import-position,import-error
from portguard_tools import netns_lab, playbook as _playbook  # noqa: E402
# pylint: disable-next=wrong-import-position,import-error,unused-import
from portguard_tools.netns_lab import (HOST_NS_LINK, RANGE, RESERVED, NamespaceError, PortHold,  # noqa: E402,F401
                                       end_process, ensure_root, host_ns_link, sysctl_tree)
# pylint: disable-next=wrong-import-position,import-error,unused-import
from portguard_tools.playbook import COLLECTIONS, REPO, TARGET_PYTHON, VENV_BIN, playbook_argv  # noqa: E402,F401


def ansible_env(home):
    """Environment for ansible-playbook in tests: this collection, the json callback, a private ANSIBLE_HOME."""
    return _playbook.ansible_env(home=home, callback='json')


def kernel_set(text):
    """The ports of a kernel port list ("80,8000-8002") as a set."""
    ports = set()
    for piece in filter(None, text.strip().split(',')):
        low, _sep, high = piece.partition('-')
        ports.update(range(int(low), int(high or low) + 1))
    return ports


class Lab(netns_lab.Lab):
    """One private network namespace and one private sysctl tree (netns_lab.Lab), and playbooks run in it."""

    # -- ansible ----------------------------------------------------------------
    def playbook(self, playbook, extra_vars=None, check=False, diff=False, args=(), expect_rc=None):
        """Run ansible-playbook inside the lab against localhost (local connection).

        Returns a PlaybookRun: the rc and the results the json callback recorded.
        """
        argv = playbook_argv(playbook, ['localhost,'], extra_vars, check, diff, args, local=True,
                             python=TARGET_PYTHON)
        env = ansible_env(os.path.join(self.root, '.ansible'))
        proc = self.run(argv, check=False, env=env)
        if expect_rc is not None and proc.returncode != expect_rc:
            raise AssertionError('ansible-playbook rc=%d (expected %d)\nstdout:\n%s\nstderr:\n%s'
                                 % (proc.returncode, expect_rc, proc.stdout[-20000:], proc.stderr[-5000:]))
        return PlaybookRun(proc)


class PlaybookRun(object):
    """The json callback's output, with helpers to find task results."""

    def __init__(self, proc):
        self.proc = proc
        self.rc = proc.returncode
        try:
            start = proc.stdout.index('{')
            self.data = json.loads(proc.stdout[start:])
        except ValueError:
            self.data = {'plays': [], 'stats': {}}

    def tasks(self):
        out = []
        for play in self.data.get('plays', []):
            for task in play.get('tasks', []):
                for _host, result in task.get('hosts', {}).items():
                    out.append((task['task']['name'], result))
        return out

    def result(self, name):
        for task_name, result in self.tasks():
            if task_name == name:
                return result
        raise KeyError('no task named %r; tasks: %s\n%s' % (
            name, [n for n, _r in self.tasks()], self.proc.stderr[-3000:]))

    @property
    def stats(self):
        return self.data.get('stats', {}).get('localhost', {})

    def __repr__(self):
        return 'PlaybookRun(rc=%d)\n%s\n%s' % (self.rc, self.proc.stdout[-8000:], self.proc.stderr[-3000:])
