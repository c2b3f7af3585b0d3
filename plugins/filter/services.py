# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters behind the portguard.ephemeral.reserved_ports role.

The work is done by module_utils/_services.py (pure functions); these filters
only read variables out of ``hostvars`` and turn ServicesError into
AnsibleFilterError.  Documentation: one YAML file per filter next to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.portguard.ephemeral.plugins.module_utils import _services

INPUT_VAR = '__reserved_ports_input'
PLAN_VAR = '__reserved_ports_plan'
APPLIED_VAR = '__reserved_ports_applied'
AUDIT_VAR = '__reserved_ports_audit'


def _plain(value):
    """Copy a templated value into plain dicts, lists and scalars."""
    if isinstance(value, dict):
        return dict((str(key), _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _get(host_vars, name, host, problems, default=None):
    if name not in host_vars:
        return default
    try:
        return _plain(host_vars[name])
    except Exception as exc:  # pylint: disable=broad-except
        problems.append('host %s: variable %s cannot be evaluated: %s' % (host, name, exc))
        return default


def _scan(host_vars, host, current, problems):
    """Collect a host's input from its inventory variables (the host did not collect it in this play)."""
    current = current or {}
    current_settings = current.get('settings') or {}
    settings = {}
    for key, var in _services.SETTING_VARS.items():
        fallback = current_settings.get(key, _services.DEFAULT_SETTINGS[key])
        settings[key] = _get(host_vars, var, host, problems, fallback)
    names = list(host_vars)
    services = {}
    for var in _services.service_var_names(names):
        services[var] = _get(host_vars, var, host, problems)
    discovered = {}
    try:
        found = _services.discover_names(names, settings['discover'])
    except _services.ServicesError:
        found = []  # reported by check_settings
    for var in found:
        discovered[var] = _get(host_vars, var, host, problems)
    return {'services': services, 'discovered': discovered, 'settings': settings}


def reserved_ports_fleet(hostvars, hosts, current=None):
    """Validate every host's services; return {'hosts': {host: plan}} or raise naming every problem."""
    if isinstance(hosts, str):
        hosts = [hosts]
    problems = []
    inputs = {}
    for host in hosts:
        try:
            host_vars = hostvars[host]
        except Exception as exc:  # pylint: disable=broad-except
            problems.append('host %s: its variables cannot be read: %s' % (host, exc))
            continue
        collected = _get(host_vars, INPUT_VAR, host, problems)
        inputs[host] = collected if isinstance(collected, dict) else _scan(host_vars, host, current, problems)
    try:
        if problems:
            raise _services.ServicesError(problems)
        plans = _services.fleet_plan(inputs, hosts)
    except _services.ServicesError as exc:
        raise AnsibleFilterError(
            'reserved_ports: %d problem(s) in the service declarations; nothing was changed on any host:\n- %s'
            % (len(exc.problems), '\n- '.join(exc.problems)))
    return {'hosts': plans}


def reserved_ports_discover_names(names, patterns):
    """Variable names matching the glob patterns, minus connection, magic and the role's own variables."""
    try:
        return _services.discover_names(list(names or []), _plain(patterns))
    except _services.ServicesError as exc:
        raise AnsibleFilterError(str(exc))


def audit_of(audit, applied):
    """The audit of a host: local_ports_info's result, or the ports local_ports examined.

    The role lets local_ports examine the service ports when it applies them (one
    module call per host); local_ports_info runs only when apply is skipped.
    """
    audit, applied = _plain(audit), _plain(applied)
    usable = isinstance(audit, dict) and not audit.get('skipped') and not audit.get('failed') and 'ports' in audit
    if not usable and isinstance(applied, dict) and not applied.get('failed') and 'ports' in applied:
        return {'ports': applied['ports'], 'boot': applied.get('boot'), 'netns': applied.get('netns')}
    return audit


def reserved_ports_held(audit, plan, applied=None):
    """Messages for service ports held right now by a socket that is not a listener."""
    return _services.held_problems(_plain(plan), audit_of(audit, applied))


def reserved_ports_report(hostvars, hosts, live_hosts=None, check_mode=False):
    """The fleet report (hosts summary and rows) from the registered results of every host."""
    if isinstance(hosts, str):
        hosts = [hosts]
    live = set(hosts if live_hosts is None else live_hosts)
    per_host = {}
    for host in hosts:
        problems = []
        try:
            host_vars = hostvars[host]
        except Exception:  # pylint: disable=broad-except
            per_host[host] = {'state': 'unknown'}
            continue
        applied = _get(host_vars, APPLIED_VAR, host, problems)
        per_host[host] = {
            'plan': _get(host_vars, PLAN_VAR, host, problems),
            'applied': applied,
            'audit': audit_of(_get(host_vars, AUDIT_VAR, host, problems), applied),
            'state': 'ok' if host in live else 'failed or unreachable',
        }
    return _services.report(list(hosts), per_host, check_mode)


class FilterModule(object):
    """portguard.ephemeral filters for the reserved_ports role."""

    def filters(self):
        return {
            'reserved_ports_fleet': reserved_ports_fleet,
            'reserved_ports_discover_names': reserved_ports_discover_names,
            'reserved_ports_held': reserved_ports_held,
            'reserved_ports_report': reserved_ports_report,
        }
