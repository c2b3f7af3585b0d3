# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every host's variables for a run_once task, as that host's own tasks see them, at a cost per host that does not grow with the play.

Controller-side and private.  ``reserved_ports_plan`` (run_once) reads the
variables of each host of the play once.  ansible-core's variable manager
gives them, but when it is asked for one host it also builds the play's host
lists (``ansible_play_hosts_all``, ``ansible_play_hosts``,
``ansible_play_batch``, ``play_hosts``: every host of the play, filtered), so
reading N hosts that way costs N x N.  The strategy avoids the inventory
lookups by passing the lists it has (``_hosts``, ``_hosts_all``); those lists
are the same for every host of the task, so the reader asks for a one-host
list and puts the task's own lists (from the task variables of the host that
runs it) in their place, and into ``vars`` too.  What the host sees is the
same; a test compares it with what the strategy would build.

The values are templated with the host's variables; a value that holds no
template renders the same for every host, and group and role defaults are one
object for many hosts, so its rendering is kept by identity and done once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The magic variables that list the play's hosts: the same on every host of one task.
PLAY_LIST_VARS = ('ansible_play_hosts_all', 'ansible_play_hosts', 'ansible_play_batch', 'play_hosts')


class Rendered(object):
    """``template(value)`` through one templar per host, computed once per value object that holds no template."""

    def __init__(self, is_template):
        self._is_template = is_template
        # id(value) -> (value, rendering); the value is held so that its id is not reused.
        self._done = {}

    def get(self, templar, value):
        """The rendering of ``value`` with ``templar`` (the host's variables)."""
        known = self._done.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        rendered = templar.template(value)
        if not self._is_template(value):
            self._done[id(value)] = (value, rendered)
        return rendered


class PlayVars(object):
    """``read(host)`` -> (variable names, get(name)) for each host of the play, as that host's tasks see them.

    ``manager``: the task's variable manager; ``play``, ``task``: the running
    task's; ``templar``: the action's templar (the runner's variables);
    ``runner``, ``runner_vars``: the host running the task and its task
    variables, which are read as they are.
    """

    def __init__(self, manager, play, task, templar, runner, runner_vars):
        self._manager, self._play, self._task = manager, play, task
        self._templar, self._runner, self._runner_vars = templar, runner, runner_vars
        self._rendered = Rendered(templar.is_template)

    def variables(self, host):
        """The host's variables: get_vars for that host with a one-host list, then the task's play lists."""
        if host == self._runner:
            return self._runner_vars
        # The inventory lookup is the variable manager's own (2.16 to 2.21 keep it in _inventory).
        found = self._manager._inventory.get_host(host)  # pylint: disable=protected-access
        if found is None:
            raise KeyError('no host %s in the inventory' % host)
        host_vars = self._manager.get_vars(play=self._play, host=found, task=self._task,
                                           _hosts=[host], _hosts_all=[host])
        return with_play_lists(host_vars, self._runner_vars)

    def read(self, host):
        host_vars = self.variables(host)
        if host == self._runner:
            templar = self._templar
        else:
            templar = self._templar.copy_with_new_env(available_variables=host_vars)
        return list(host_vars), lambda name: self._rendered.get(templar, host_vars[name])


def with_play_lists(host_vars, task_vars):
    """``host_vars`` with the play's host lists of ``task_vars``, at the top level and in each nested ``vars``.

    ansible-core 2.20 and later nest one more copy: ``vars`` holds ``vars`` (the
    magic variable, copied while it was being filled), so every level is set.
    """
    seen = set()
    level, task_level = host_vars, task_vars
    while isinstance(level, dict) and isinstance(task_level, dict) and id(level) not in seen:
        seen.add(id(level))
        for name in PLAY_LIST_VARS:
            if name in task_level and name in level:
                level[name] = task_level[name]
        level, task_level = level.get('vars'), task_level.get('vars')
    return host_vars
