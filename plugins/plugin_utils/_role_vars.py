# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's role input from its variables: services, discovered ports, settings, misspelled names.

Controller-side and private.  The caller supplies the variable names and a
``get(name)`` that returns a variable's templated value; nothing here knows
Ansible's variable manager, so the same code serves a host's own task
variables (the apply step) and every host's variables read once for the play
(the check in ``_play_check``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _services, _yaml_numbers

# reserved_port_services_db, reserved_ports_service_web, reserved_ports_servcies_x ...
_SERVICES_LIKE = re.compile(r'^reserved_?ports?_?(serv[a-z]*|srv[a-z]*)(?:_(.*))?$')


def plain(value):
    """A templated value as plain dicts, lists, str, int, float, bool and None.

    ansible-core 2.19 hands out tagged subclasses (``_AnsibleTaggedFloat`` ...);
    their names must never reach a user's error message.
    """
    if isinstance(value, dict):
        return dict((str(key), plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, bool):
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def collect(names, get):
    """(input, problems): the host's input for ``_services.host_plan``.

    ``names``: the host's variable names; ``get(name)``: its templated value
    (may raise).  A setting the host does not have is left out (host_plan
    takes the role default).  An integer that its YAML file writes as octal,
    hexadecimal or base 60 is a problem (``_yaml_numbers``).  A variable with a
    problem is left out of the input, which is then marked ``incomplete`` (so
    that its value causes no second message, such as "no service ports").
    """
    names = frozenset(name for name in names if isinstance(name, str))
    problems = []
    missing = object()

    def fetch(name):
        try:
            value = get(name)
        except Exception as exc:  # pylint: disable=broad-except
            problems.append('variable %s cannot be evaluated: %s' % (name, exc))
            return missing
        misread = _yaml_numbers.problems(value, name)
        problems.extend(misread)
        return missing if misread else plain(value)

    def fetch_all(var_names):
        values = dict((var, fetch(var)) for var in var_names)
        return dict((var, value) for var, value in values.items() if value is not missing)

    settings = fetch_all(var for var in _services.SETTING_VARS.values() if var in names)
    settings = dict((key, settings[var]) for key, var in _services.SETTING_VARS.items() if var in settings)
    services = fetch_all(_services.service_var_names(names))
    try:
        found = _services.discover_names(names, settings.get('discover', []))
    except _services.ServicesError:
        found = []  # check_settings names the bad pattern
    discovered = fetch_all(found)
    host_input = {'services': services, 'discovered': discovered, 'settings': settings}
    if problems:
        host_input['incomplete'] = True
    return host_input, problems


def _suggestion(name):
    """The role variable ``name`` was probably meant to be, or None."""
    match = _SERVICES_LIKE.match(name)
    if match and difflib.SequenceMatcher(None, match.group(1), 'services').ratio() >= 0.7:
        return _services.SERVICES_PREFIX + match.group(2) if match.group(2) else _services.SERVICES_VAR
    if name.startswith(_services.ROLE_PREFIX):
        # The prefix is right: only the rest counts (reserved_ports_qqq is close to no setting).
        close = difflib.get_close_matches(name[len(_services.ROLE_PREFIX):], _services.SETTING_KEYS, n=1, cutoff=0.6)
        return _services.ROLE_PREFIX + close[0] if close else None
    close = difflib.get_close_matches(name, _services.ROLE_VARS, n=1, cutoff=0.6)
    return close[0] if close else None


def _looks_like_ours(name):
    if name.startswith('reserved_port') or name.startswith('reserve_port'):
        return True
    if len(name) < 12 or not ('port' in name or 'serv' in name or name.startswith('res')):
        return False
    return bool(difflib.get_close_matches(name, _services.ROLE_VARS, n=1, cutoff=0.85))


def unknown_vars(names):
    """[(name, suggestion or None)] for variables that look like the role's but are not, sorted."""
    found = []
    for name in names:
        if not isinstance(name, str) or name.startswith('_') or name in _services.ROLE_VARS:
            continue
        if name.startswith(_services.SERVICES_PREFIX):
            continue
        if _looks_like_ours(name):
            found.append((name, _suggestion(name)))
    return sorted(found)


def _value_text(name, get):
    try:
        return _services.short_value(plain(get(name)))
    except Exception:  # pylint: disable=broad-except
        return '(a value that cannot be evaluated)'


def unknown_var_messages(names, get=None, setting=_services.DEFAULT_SETTINGS['on_unknown_vars']):
    """One sentence per misspelled-looking variable, worded for ``reserved_ports_on_unknown_vars`` = ``setting``.

    ``get(name)`` gives the value to show (left out without it).
    """
    messages = []
    for name, suggestion in unknown_vars(names):
        value = ' = %s' % _value_text(name, get) if get is not None else ''
        hint = ('did you mean %s?' % suggestion) if suggestion else \
            'the role has no such variable (ansible-doc -t role portguard.ephemeral.reserved_ports lists them).'
        if setting == 'warn':
            messages.append('variable %s%s is not a variable of portguard.ephemeral.reserved_ports and is ignored; %s'
                            % (name, value, hint))
        else:
            messages.append('variable %s%s is not a variable of portguard.ephemeral.reserved_ports, which would '
                            'ignore it; %s Rename it, or set reserved_ports_on_unknown_vars: warn if it is meant for '
                            'something else' % (name, value, hint))
    return messages
