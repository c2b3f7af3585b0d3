# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The play-wide check of the role's variables: which hosts it reads, and what it says about them.

Controller-side and private: the action plugin ``reserved_ports_plan`` runs
once per play (per ``serial`` batch) and hands these functions a ``read(host)``
that returns ``(variable names, get(name))`` for each host; nothing here knows
Ansible's variable manager.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _role_vars, _services

# How many host names a grouped warning lists before it counts the rest.
WARN_HOSTS = 5


def hosts_to_check(every, batch, active, runner):
    """The hosts to read: the whole play in its first batch, else this batch.

    ``every``: ansible_play_hosts_all; ``batch``: ansible_play_batch;
    ``active``: ansible_play_hosts (every host not failed, later batches
    included); ``runner``: the host running the task (the batch's first).
    In the first ``serial`` batch the hosts of the later batches are read
    too, so that a problem anywhere stops the play before any host changes;
    hosts that already failed (the argument-spec check, unreachable) are read
    as well, their problems must be listed too.  A host before the runner in
    play order that is still active ran in an earlier batch, which read every
    host then.
    """
    every = list(every or [runner])
    batch = list(batch or [runner])
    active = frozenset(active or [])
    first = batch[0]
    earlier = every[:every.index(first)] if first in every else []
    if any(other in active for other in earlier):
        return batch
    return every


def host_check(names, get):
    """(problems, warnings) of one host from its variable names and ``get(name)``.

    The warnings: misspelled-looking variables (with reserved_ports_on_unknown_vars: warn) and the
    plan's own (``plan['warnings']``, such as a null service variable).
    """
    host_input, problems = _role_vars.collect(names, get)
    plan, plan_problems = _services.host_plan(host_input)
    problems = problems + plan_problems
    # The validated setting; a host with problems fails anyway, its raw value (or the default) decides.
    setting = plan['settings']['on_unknown_vars'] if plan else \
        host_input['settings'].get('on_unknown_vars', _services.DEFAULT_SETTINGS['on_unknown_vars'])
    unknown = _role_vars.unknown_var_messages(names, get, setting)
    notes = plan['warnings'] if plan else []
    if unknown and setting != 'warn':
        return problems + unknown, notes
    return problems, unknown + notes


def grouped(messages):
    """[(host, message)] -> one text per distinct message, naming its hosts (the first few, then a count)."""
    hosts_of = {}
    for host, message in messages:
        hosts_of.setdefault(message, []).append(host)
    out = []
    for message, hosts in sorted(hosts_of.items()):
        more = ' and %d more' % (len(hosts) - WARN_HOSTS) if len(hosts) > WARN_HOSTS else ''
        out.append('host%s %s%s: %s' % ('s' if len(hosts) > 1 else '', ', '.join(hosts[:WARN_HOSTS]), more, message))
    return out


def check_hosts(hosts, read):
    """(problems, warnings) of ``hosts``: every problem of every host, each prefixed with its host.

    ``read(host)`` returns ``(names, get)``; when it raises, the host's
    variables cannot be read, which is a problem of that host.
    """
    problems, unknown = [], []
    for host in hosts:
        try:
            names, get = read(host)
            host_problems, host_unknown = host_check(names, get)
        except Exception as exc:  # pylint: disable=broad-except
            host_problems, host_unknown = ['its variables cannot be read: %s' % exc], []
        problems.extend('host %s: %s' % (host, problem) for problem in host_problems)
        unknown.extend((host, message) for message in host_unknown)
    return problems, grouped(unknown)


def failure_message(problems, whole_play):
    """The one message of a failed check."""
    scope = 'nothing was changed on any host' if whole_play else 'no host of this serial batch was changed'
    return 'reserved_ports: %d problem(s) in the service declarations; %s:\n- %s' % (
        len(problems), scope, '\n- '.join(problems))
