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

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _services

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
    takes the role default).
    """
    names = frozenset(name for name in names if isinstance(name, str))
    problems = []

    def fetch(name, default=None):
        try:
            return plain(get(name))
        except Exception as exc:  # pylint: disable=broad-except
            problems.append('variable %s cannot be evaluated: %s' % (name, exc))
            return default

    settings = {}
    for key in _services.SETTING_KEYS:
        var = _services.SETTING_VARS[key]
        if var in names:
            settings[key] = fetch(var, _services.DEFAULT_SETTINGS[key])
    services = dict((var, fetch(var)) for var in _services.service_var_names(names))
    try:
        found = _services.discover_names(names, settings.get('discover', []))
    except _services.ServicesError:
        found = []  # check_settings names the bad pattern
    discovered = dict((var, fetch(var)) for var in found)
    return {'services': services, 'discovered': discovered, 'settings': settings}, problems


def _suggestion(name):
    """The role variable ``name`` was probably meant to be, or None."""
    match = _SERVICES_LIKE.match(name)
    if match and difflib.SequenceMatcher(None, match.group(1), 'services').ratio() >= 0.7:
        return _services.SERVICES_PREFIX + match.group(2) if match.group(2) else _services.SERVICES_VAR
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


def unknown_var_messages(names):
    """One sentence per misspelled-looking variable."""
    messages = []
    for name, suggestion in unknown_vars(names):
        hint = ('did you mean %s?' % suggestion) if suggestion else \
            'see ansible-doc -t role portguard.ephemeral.reserved_ports for the role\'s variables'
        messages.append('variable %s is not a variable of portguard.ephemeral.reserved_ports and is ignored; %s '
                        '(reserved_ports_on_unknown_vars: fail makes this an error)' % (name, hint))
    return messages
