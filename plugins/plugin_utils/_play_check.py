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

import collections

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _role_vars, _services

# How many host names a grouped warning lists before it counts the rest.
WARN_HOSTS = 5
# The tags that run the role's apply step.
APPLY_TAGS = frozenset(('all', 'tagged', 'reserved_ports', 'reserved_ports_apply'))


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


def play_id(task):
    """The identity of the play run a task belongs to (its play's uuid, unique per ansible-playbook run)."""
    play = task.get_play()
    return str(getattr(play, '_uuid', None) or play.get_name())


def register_name(task):
    """The variable the task's result is registered as, or None (ansible-core 2.21 keeps {name: expression})."""
    value = task.register
    if isinstance(value, dict):
        value = next(iter(value), None)
    return str(value) if value else None


def host_check(names, get, report_problems=None):
    """(problems, warnings, plan or None) of one host from its variable names and ``get(name)``.

    The warnings: misspelled-looking variables (with reserved_ports_on_unknown_vars: warn) and the
    plan's own (``plan['warnings']``, such as a null service variable).  ``report_problems(value)``: why
    the host's reserved_ports_report cannot be written (``_report_files.path_problems``), or None to
    leave it unchecked.
    """
    host_input, problems = _role_vars.collect(names, get)
    plan, plan_problems = _services.host_plan(host_input)
    problems = problems + plan_problems
    report = plan['settings']['report'] if plan else host_input['settings'].get('report')
    if report_problems is not None and isinstance(report, str):
        problems = problems + report_problems(report)
    # The validated setting; a host with problems fails anyway, its raw value (or the default) decides.
    setting = plan['settings']['on_unknown_vars'] if plan else \
        host_input['settings'].get('on_unknown_vars', _services.DEFAULT_SETTINGS['on_unknown_vars'])
    unknown = _role_vars.unknown_var_messages(names, get, setting)
    notes = plan['warnings'] if plan else []
    if unknown and setting != 'warn':
        return problems + unknown, notes, None
    return problems, unknown + notes, None if problems else plan


class cached(object):  # pylint: disable=invalid-name
    """``function(value)`` computed once per distinct value (the report path of a thousand hosts is one path)."""

    def __init__(self, function):
        self.function = function
        self.results = {}

    def __call__(self, value):
        if value not in self.results:
            self.results[value] = self.function(value)
        return self.results[value]

    def seen(self):
        """{value: result} of the values that gave one (the report paths with problems)."""
        return dict((value, result) for value, result in self.results.items() if result)


def grouped(messages):
    """[(host, message)] -> one text per distinct message, naming its hosts (the first few, then a count)."""
    hosts_of = {}
    for host, message in messages:
        hosts_of.setdefault(message, []).append(host)
    out = []
    for message, hosts in sorted(hosts_of.items()):
        out.append('%s: %s' % (host_list(hosts), message))
    return out


def host_list(hosts, limit=WARN_HOSTS, count=None):
    """``host h1``, ``hosts h1, h2 and 3 more`` (``count``: how many there are when ``hosts`` are the first of them)."""
    count = len(hosts) if count is None else count
    more = ' and %d more' % (count - min(limit, len(hosts))) if count > min(limit, len(hosts)) else ''
    return 'host%s %s%s' % ('s' if count > 1 else '', ', '.join(hosts[:limit]), more)


def check_hosts(hosts, read, report_problems=None):
    """({host: [problem]} of the hosts with problems, in play order; grouped warnings).

    ``read(host)`` returns ``(names, get)``; when it raises, the host's
    variables cannot be read, which is a problem of that host.
    """
    problems, unknown = collections.OrderedDict(), []
    for host in hosts:
        try:
            names, get = read(host)
            host_problems, host_unknown, _plan = host_check(names, get, report_problems)
        except Exception as exc:  # pylint: disable=broad-except
            host_problems, host_unknown = ['its variables cannot be read: %s' % exc], []
        if host_problems:
            problems[host] = host_problems
        unknown.extend((host, message) for message in host_unknown)
    return problems, grouped(unknown)


def play_summary(problem_hosts, gone):
    """The one warning of a check that found problems.

    ``problem_hosts``: every host with a problem, in play order; ``gone``:
    {host: [problem]} of those no longer in the play (the argument-spec check
    failed them, or they were unreachable), whose problems nobody else lists.
    """
    text = ('reserved_ports: %s %s problems in the service declarations; no host of the play is changed until they '
            'are fixed, and each of them fails at the next step with its own list'
            % (host_list(problem_hosts), 'has' if len(problem_hosts) == 1 else 'have'))
    for host, problems in gone.items():
        text += '\n- host %s (no longer in the play): %s' % (host, '\n  '.join(problems))
    return text


def validate_only(run_tags, skip_tags):
    """Whether no apply or audit step follows the check (--tags reserved_ports_validate, --skip-tags reserved_ports_apply).

    Then nothing per host would fail a host with a problem, so the check itself fails (on the host that ran
    it, listing every problem of every host): one task, as in a validation-only CI job, and a non-zero exit.
    """
    run_tags, skip_tags = frozenset(run_tags or ('all',)), frozenset(skip_tags or ())
    apply = bool(run_tags & APPLY_TAGS) and not skip_tags & frozenset(('reserved_ports_apply',))
    audit = 'reserved_ports_audit' in run_tags and 'reserved_ports_audit' not in skip_tags
    return not (apply or audit)


def failure_message(problems, whole_play):
    """The one message of a failed check (validation only): every problem of every host, each naming its host."""
    scope = 'nothing was changed on any host' if whole_play else 'no host of this serial batch was changed'
    lines = ['host %s: %s' % (host, problem) for host, host_problems in problems.items() for problem in host_problems]
    return 'reserved_ports: %d problem(s) in the service declarations; %s:\n- %s' % (
        len(lines), scope, '\n- '.join(lines))


def own_failure(host, problems, whole_play):
    """The failure of a host with problems of its own (at its apply step), each line naming the host."""
    others = '; the other hosts of the play are left unchanged too' if whole_play else ''
    return 'reserved_ports: %d problem(s) in the service declarations of this host; nothing was changed on it%s:\n- %s' % (
        len(problems), others, '\n- '.join('host %s: %s' % (host, problem) for problem in problems))


def blocked(problem_hosts, count=None):
    """Why a host without a problem of its own was not changed.

    ``problem_hosts``: the hosts with a problem, or the first of them when ``count`` says how many there are.
    """
    count = len(problem_hosts) if count is None else count
    return ('reserved_ports: not changed: %s %s problems in the service declarations (each fails with its list); '
            'no host of the play is changed until they are fixed'
            % (host_list(problem_hosts, count=count), 'has' if count == 1 else 'have'))
