# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service declarations of one host: merge, discover, validate, plan.

Controller-side, private to the collection: the action plugin
``reserved_ports_plan`` calls these pure functions (standard library plus
``module_utils._ports``) for each host, before any host is touched.

Input per host (``host_plan``), as ``plugin_utils._role_vars`` collects it:

- ``services``: ``{variable name: value}`` for ``reserved_ports_services`` and
  every ``reserved_ports_services_*`` variable.  Each value is a list of
  ``{name, port}`` or ``{name, ports}`` mappings (a port is an int or a
  ``"LOW-HIGH"`` string; ``ports`` may also be a list of those), with optional
  ``protocol`` (tcp, udp, both; default tcp) and ``note``.
- ``discovered``: ``{variable name: value}`` for the variables whose names
  match ``reserved_ports_discover`` (glob patterns such as ``*_port``).
- ``settings``: ``{key: value}`` for the role's other variables (``SETTINGS``).
- ``incomplete``: true when ``_role_vars`` left out a variable it found a
  problem with (the caller reports that problem; no "no service ports" here).

Every problem of a host is collected and returned at once; a host with a
problem gets no plan, so the role changes no host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import fnmatch
import re

from ansible_collections.portguard.ephemeral.plugins.module_utils._owners import check_name
from ansible_collections.portguard.ephemeral.plugins.module_utils._ports import (
    MAX_PORT,
    PortSpecError,
    format_ports,
    format_runs,
    parse_ports,
    parse_range,
)
from ansible_collections.portguard.ephemeral.plugins.module_utils._managed_file import check_path

SERVICES_VAR = 'reserved_ports_services'
SERVICES_PREFIX = 'reserved_ports_services_'
PROTOCOLS = ('tcp', 'udp', 'both')
DEFAULT_PROTOCOL = 'tcp'
SERVICE_KEYS = ('name', 'port', 'ports', 'protocol', 'note')
STRATEGIES = ('reserve', 'move_range', 'both')
ROLE_PREFIX = 'reserved_ports_'
# The kernel's default net.ipv4.ip_unprivileged_port_start: the lowest LOW an
# ephemeral range may have.  A host that lowered it is the module's business.
UNPRIVILEGED_PORT_START = 1024
# The kernel's default net.ipv4.ip_local_port_range (and the default reserved_ports_move_window).
KERNEL_DEFAULT_RANGE = (32768, 60999)
RANGE_KEY = 'net.ipv4.ip_local_port_range'

# The role's settings: key (the variable is ROLE_PREFIX + key), kind, and the
# kind's detail.  Defaults live in roles/reserved_ports/defaults/main.yml and
# the choices in meta/argument_specs.yml; tests/unit checks that all three agree.
SETTINGS = (
    ('strategy', 'choice', STRATEGIES),
    ('range', 'range_or_empty', None),
    ('move_window', 'range', None),
    ('min_ephemeral', 'int', (0, MAX_PORT)),
    ('min_free_per_destination', 'int', (0, MAX_PORT)),
    ('on_pressure', 'choice', ('fail', 'warn')),
    ('mode', 'choice', ('merge', 'exact')),
    ('on_held', 'choice', ('warn', 'fail')),
    ('on_override', 'choice', ('fail', 'warn')),
    ('on_unknown_vars', 'choice', ('fail', 'warn')),
    ('on_undeclared_listeners', 'choice', ('report', 'warn', 'fail')),
    ('ignore_listeners', 'listeners', None),
    ('discover', 'patterns', None),
    ('allow_empty', 'bool', None),
    ('live', 'bool', None),
    ('persist', 'bool', None),
    ('path', 'path', None),
    ('netns', 'netns', None),
    ('report', 'str', None),
    ('report_part', 'str', None),
    ('owner', 'owner', None),
)
SETTING_KEYS = tuple(key for key, _kind, _detail in SETTINGS)
SETTING_VARS = dict((key, ROLE_PREFIX + key) for key in SETTING_KEYS)
# The same values as defaults/main.yml and meta/argument_specs.yml (tests/unit
# checks all three): used when the actions run outside the role, where its
# defaults are not among the host's variables.  A copy rather than a read of
# argument_specs.yml: these modules load in every forked worker, once per host,
# and parsing YAML there would cost more than the whole plan.
DEFAULT_SETTINGS = {
    'strategy': 'reserve',
    'range': '',
    'move_window': list(KERNEL_DEFAULT_RANGE),
    'min_ephemeral': 8192,
    'min_free_per_destination': 1024,
    'on_pressure': 'fail',
    'mode': 'merge',
    'on_held': 'warn',
    'on_override': 'fail',
    'on_unknown_vars': 'fail',
    'on_undeclared_listeners': 'report',
    'ignore_listeners': [],
    'discover': [],
    'allow_empty': False,
    'live': True,
    'persist': True,
    'path': '/etc/sysctl.d/zz-portguard-ephemeral.conf',
    'netns': '',
    'report': '',
    'report_part': '',
    'owner': 'reserved_ports',
}
# Every variable of the role, for spotting misspelled ones.
ROLE_VARS = frozenset([SERVICES_VAR] + list(SETTING_VARS.values()))

# Never taken by discovery: connection settings (ansible_port is the SSH port),
# the role's own variables, private ones, and Ansible's magic variables.
DISCOVER_EXCLUDED_PREFIXES = ('ansible_', 'reserved_ports_', '_')
DISCOVER_EXCLUDED_NAMES = frozenset((
    'groups', 'group_names', 'hostvars', 'inventory_hostname', 'inventory_hostname_short',
    'inventory_dir', 'inventory_file', 'omit', 'play_hosts', 'playbook_dir', 'role_name',
    'role_path', 'role_names', 'environment', 'vars',
))

_DECIMAL = re.compile(r'^[1-9][0-9]*$')
# Control and format (bidi) characters, refused in paths.
_CONTROL = re.compile(u'[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]')
# The lowest LOW the kernel takes for net.ipv4.ip_local_port_range (with ip_unprivileged_port_start lowered).
KERNEL_LOWEST_PORT = 1


class ServicesError(ValueError):
    """One or more problems, each a complete sentence naming host, variable and value."""

    def __init__(self, problems):
        self.problems = list(problems)
        super(ServicesError, self).__init__('\n'.join(self.problems))


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def short_value(value):
    """A value as the role's messages show it: its repr, at most 80 characters."""
    return _short(value)


def _ports_word(ports):
    return ('port %s' if len(ports) == 1 else 'ports %s') % format_ports(ports)


# --------------------------------------------------------------------------- names

def service_var_names(names):
    """The names of the service variables, ``reserved_ports_services`` first, then sorted."""
    found = sorted(set(name for name in names if name == SERVICES_VAR or name.startswith(SERVICES_PREFIX)))
    if SERVICES_VAR in found:
        found.remove(SERVICES_VAR)
        found.insert(0, SERVICES_VAR)
    return found


def check_patterns(patterns, option='reserved_ports_discover'):
    """Discovery patterns as a list of strings; raise ServicesError on anything else."""
    if patterns is None or patterns == '':
        return []
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, (list, tuple)):
        raise ServicesError(['%s: %s is not a list of variable-name patterns (for example ["*_port"])'
                             % (option, _short(patterns))])
    problems = []
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str) or not pattern.strip():
            problems.append('%s[%d]: %s is not a variable-name pattern (for example "*_port")'
                            % (option, index, _short(pattern)))
    if problems:
        raise ServicesError(problems)
    return [pattern.strip() for pattern in patterns]


def discover_names(names, patterns):
    """Variable names matching any glob pattern (case-sensitive), minus excluded ones, sorted."""
    patterns = check_patterns(patterns)
    if not patterns:
        return []
    found = set()
    for name in names:
        if not isinstance(name, str) or name in DISCOVER_EXCLUDED_NAMES:
            continue
        if name.startswith(DISCOVER_EXCLUDED_PREFIXES):
            continue
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            found.add(name)
    return sorted(found)


# --------------------------------------------------------------------------- one host's services

class Service(object):
    """One declared (or discovered) service entry, validated."""

    __slots__ = ('name', 'ports', 'protocol', 'note', 'sources', 'discovered')

    def __init__(self, name, ports, protocol, note, source, discovered=False):
        self.name = name
        self.ports = frozenset(ports)
        self.protocol = protocol
        self.note = note
        self.sources = [source]
        self.discovered = discovered

    def key(self):
        return (self.name, self.protocol, self.ports)

    def as_dict(self):
        return {
            'name': self.name,
            'ports': format_runs(self.ports),
            'protocol': self.protocol,
            'note': self.note,
            'sources': list(self.sources),
            'discovered': self.discovered,
        }


def _parse_entry(entry, where, problems):
    """Validate one ``{name, port|ports, protocol, note}`` mapping; return a Service or None."""
    if not isinstance(entry, dict):
        problems.append('%s: %s is not a mapping; write {name: NAME, port: PORT}' % (where, _short(entry)))
        return None
    unknown = sorted(str(key) for key in entry if key not in SERVICE_KEYS)
    name = entry.get('name')
    label = where if not isinstance(name, str) or not name.strip() else '%s (service %r)' % (where, name.strip())
    if unknown:
        problems.append('%s: unknown key(s) %s; a service has %s'
                        % (label, ', '.join(unknown), ', '.join(SERVICE_KEYS)))
        return None
    if not isinstance(name, str) or not name.strip():
        problems.append('%s: the service has no name (got name: %s); every service needs one'
                        % (where, _short(name)))
        return None
    name = name.strip()
    has_port, has_ports = 'port' in entry, 'ports' in entry
    if has_port and has_ports:
        problems.append('%s: give either port or ports, not both' % label)
        return None
    if not has_port and not has_ports:
        problems.append('%s: no port; add port: PORT (or ports: [PORT, "LOW-HIGH"])' % label)
        return None
    key = 'port' if has_port else 'ports'
    value = entry[key]
    if key == 'port' and isinstance(value, (list, tuple)):
        problems.append('%s port: %s is a list; port takes one port or "LOW-HIGH" range, write ports: %s instead'
                        % (label, _short(value), _short(list(value))))
        return None
    items = value if isinstance(value, (list, tuple)) else [value]
    if not items:
        problems.append('%s %s: %s is empty; give at least one port' % (label, key, _short(value)))
        return None
    if any(isinstance(item, str) and ',' in item for item in items):
        problems.append('%s %s: %s is not a port or range; give a list instead of a comma-separated string'
                        % (label, key, _short(value)))
        return None
    try:
        ports = parse_ports(list(items), '%s %s' % (label, key))
    except PortSpecError as exc:
        problems.append(str(exc))
        return None
    protocol = entry.get('protocol')
    if protocol is None:
        protocol = DEFAULT_PROTOCOL
    if not isinstance(protocol, str) or protocol.strip().lower() not in PROTOCOLS:
        problems.append('%s protocol: %s is not one of %s' % (label, _short(protocol), ', '.join(PROTOCOLS)))
        return None
    note = entry.get('note')
    if note is not None and not isinstance(note, (str, int, float)):
        problems.append('%s note: %s is not text' % (label, _short(note)))
        return None
    return Service(name, ports, protocol.strip().lower(), None if note is None else str(note), where)


def _protocols_overlap(one, two):
    return one == 'both' or two == 'both' or one == two


def parse_services(services_vars):
    """Merge every service variable of one host.

    ``services_vars``: ``{variable name: list of service mappings}``.  Returns
    (services, problems).  Entries that are identical (same name, protocol and
    ports) in several variables collapse into one with several sources.
    """
    problems = []
    services = []
    seen = {}
    if services_vars is None:
        services_vars = {}
    if not isinstance(services_vars, dict):
        return [], ['%s: %s is not a mapping of variables' % (SERVICES_VAR, _short(services_vars))]
    for var in service_var_names(services_vars):
        value = services_vars[var]
        if value is None or value == '':
            continue
        if isinstance(value, dict):
            problems.append('%s: %s is a mapping; it must be a list of services, e.g. [{name: web, port: 8080}]'
                            % (var, _short(value)))
            continue
        if not isinstance(value, (list, tuple)):
            problems.append('%s: %s is not a list of services, e.g. [{name: web, port: 8080}]' % (var, _short(value)))
            continue
        for index, entry in enumerate(value):
            service = _parse_entry(entry, '%s[%d]' % (var, index), problems)
            if service is None:
                continue
            earlier = seen.get(service.key())
            if earlier is not None:
                earlier.sources.extend(service.sources)
                continue
            seen[service.key()] = service
            services.append(service)
    return services, problems


def null_warnings(services_vars):
    """Service variables that are null or an empty string: they add nothing, which often means a broken list.

    ``[]`` is a deliberate "no services here" and says nothing.
    """
    warnings = []
    for var in service_var_names(services_vars or {}):
        value = services_vars[var]
        if value is None or value == '':
            warnings.append('%s is %s, so it adds no service; write [] if it has none, or check the indentation '
                            'of its entries (a list whose entries are all commented out is null too)'
                            % (var, 'null' if value is None else 'an empty string'))
    return warnings


def duplicate_problems(services):
    """Ports claimed by two different services (whose protocols overlap)."""
    claims = {}
    for service in services:
        if service.discovered:
            continue
        for port in service.ports:
            claims.setdefault(port, []).append(service)
    pairs = {}
    for port in sorted(claims):
        owners = claims[port]
        for i, first in enumerate(owners):
            for second in owners[i + 1:]:
                if first.name == second.name or not _protocols_overlap(first.protocol, second.protocol):
                    continue
                pairs.setdefault((id(first), id(second)), (first, second, set()))[2].add(port)
    problems = []
    for first, second, ports in sorted(pairs.values(), key=lambda item: (min(item[2]), item[0].name, item[1].name)):
        problems.append('%s %s claimed by two services: %r (%s, %s) and %r (%s, %s)'
                        % (_ports_word(ports), 'is' if len(ports) == 1 else 'are', first.name, first.protocol, ', '.join(first.sources),
                           second.name, second.protocol, ', '.join(second.sources)))
    return problems


def discovered_services(discovered, declared):
    """Services from discovered variables: integer values only; never duplicates of each other.

    Several variables often hold the same port (the server's and its clients'),
    so a port found twice is one entry; a port a declared service already
    claims is left to that service.  Returns (services, skipped, problems).
    """
    services, skipped, problems = [], [], []
    if not discovered:
        return services, skipped, problems
    claimed = set()
    for service in declared:
        claimed.update(service.ports)
    by_port = {}
    for var in sorted(discovered):
        value = discovered[var]
        if isinstance(value, bool) or value is None:
            skipped.append('%s: %s is not an integer' % (var, _short(value)))
            continue
        if isinstance(value, int):
            port = value
        elif isinstance(value, str) and _DECIMAL.match(value.strip()):
            port = int(value.strip())
        else:
            skipped.append('%s: %s is not an integer' % (var, _short(value)))
            continue
        if port < 1 or port > MAX_PORT:
            problems.append('%s: %s (found by reserved_ports_discover) is outside 1-%d; fix the value or '
                            'change the pattern so it does not match this variable' % (var, _short(value), MAX_PORT))
            continue
        if port in claimed:
            continue
        if port in by_port:
            by_port[port].sources.append(var)
            continue
        service = Service(var, [port], 'both', 'found by reserved_ports_discover', var, discovered=True)
        by_port[port] = service
        services.append(service)
    return services, skipped, problems


# --------------------------------------------------------------------------- settings and ranges

def _int_setting(value, option, low, high):
    if isinstance(value, bool):
        raise ServicesError(['%s: %s is a boolean, not a number' % (option, _short(value))])
    if isinstance(value, str) and re.match(r'^[0-9]+$', value.strip()):
        value = int(value.strip())
    if not isinstance(value, int):
        raise ServicesError(['%s: %s is not a number' % (option, _short(value))])
    if value < low or value > high:
        raise ServicesError(['%s: %s is outside %d-%d' % (option, value, low, high)])
    return value


_TRUE = ('true', 'yes', 'on', '1', 'y', 't')
_FALSE = ('false', 'no', 'off', '0', 'n', 'f')


def _bool_setting(value, option):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ServicesError(['%s: %s is not a boolean; write true or false' % (option, _short(value))])


def _check_one(key, kind, detail, value):
    """One setting, normalised; raises ServicesError naming the variable."""
    option = SETTING_VARS[key]
    if kind == 'choice':
        if not isinstance(value, str) or value not in detail:
            close = difflib.get_close_matches(value, detail, n=1, cutoff=0.6) if isinstance(value, str) else []
            fix = '; did you mean %s?' % close[0] if close else ''
            raise ServicesError(['%s: %s is not one of %s%s' % (option, _short(value), ', '.join(detail), fix)])
        return value
    if kind == 'int':
        return _int_setting(value, option, detail[0], detail[1])
    if kind == 'bool':
        return _bool_setting(value, option)
    if kind == 'patterns':
        return check_patterns(value, option)
    if kind == 'listeners':
        return check_ignore_listeners(value, option)
    if kind in ('range', 'range_or_empty'):
        if kind == 'range_or_empty' and (value is None or value == '' or value == []):
            return None
        try:
            return list(parse_range(value, option, UNPRIVILEGED_PORT_START))
        except PortSpecError as exc:
            raise ServicesError([str(exc)])
    if not isinstance(value, str):
        raise ServicesError(['%s: %s is not a string' % (option, _short(value))])
    if kind in ('path', 'netns') and _CONTROL.search(value):
        raise ServicesError(['%s: %s holds control or format characters; give a plain path' % (option, _short(value))])
    if kind == 'path' and not value.startswith('/'):
        raise ServicesError(['%s: %s is not an absolute path; give the sysctl.d file to persist to, '
                             'e.g. %s, or set reserved_ports_persist: false'
                             % (option, _short(value), DEFAULT_SETTINGS['path'])])
    if kind == 'owner' and check_name(value):
        raise ServicesError(['%s%s; the role passes it to local_ports as its owner name'
                             % (ROLE_PREFIX, check_name(value))])
    if kind == 'netns' and value and not value.startswith('/'):
        raise ServicesError(['%s: %s is not an absolute path; give /run/netns/NAME or /proc/PID/ns/net, '
                             'or "" for the host\'s own namespace' % (option, _short(value))])
    return value


def path_problem(path):
    """Why ``path`` cannot be the managed file (local_ports' own rule, named by the role variable), or None."""
    refused = check_path(path)
    if refused is None:
        return None
    return 'reserved_ports_' + refused.replace('; nothing was changed', '')


def check_ignore_listeners(value, option='reserved_ports_ignore_listeners'):
    """The ignore list as {'ports': [runs], 'commands': [names]}; raise ServicesError naming a bad entry."""
    if value is None or value == '':
        value = []
    if not isinstance(value, (list, tuple)):
        value = [value]
    ports, commands, problems = [], [], []
    for index, item in enumerate(value):
        if isinstance(item, str) and item.strip() and not re.match(r'^[0-9]+(-[0-9]+)?$', item.strip()):
            commands.append(item.strip())
            continue
        try:
            ports.extend(parse_ports([item], '%s[%d]' % (option, index)))
        except PortSpecError as exc:
            problems.append('%s; give a port, a "LOW-HIGH" range or a command name such as rpc.statd' % exc)
    if problems:
        raise ServicesError(problems)
    return {'ports': format_runs(ports), 'commands': sorted(set(commands))}


def check_settings(settings):
    """Validate and normalise the settings of one host; raise ServicesError listing every problem."""
    merged = dict(DEFAULT_SETTINGS)
    merged.update(dict((key, value) for key, value in (settings or {}).items() if key in DEFAULT_SETTINGS))
    problems = []
    out = {}
    for key, kind, detail in SETTINGS:
        try:
            out[key] = _check_one(key, kind, detail, merged[key])
        except ServicesError as exc:
            problems.extend(exc.problems)
    if not problems and out['range'] is not None and out['strategy'] != 'reserve':
        problems.append('reserved_ports_range: %s is set, but reserved_ports_strategy=%s chooses the range itself; '
                        'remove reserved_ports_range, or bound the choice with reserved_ports_move_window'
                        % (_short(merged['range']), out['strategy']))
    if not problems and out['persist'] and not out['netns'] and path_problem(out['path']):
        problems.append(path_problem(out['path']))
    if not problems and out['range'] is not None and out['range'][0] != out['range'][1] \
            and (out['range'][1] - out['range'][0]) % 2 == 0:
        low, high = out['range']
        problems.append('reserved_ports_range: %d %d has ends of the same parity; the kernel then never gives '
                        'connect() one edge port and logs "prefer different parity". Write "%d %d" instead'
                        % (low, high, low, high - 1))
    if problems:
        raise ServicesError(problems)
    return out


def _gap_range(low, high):
    """A gap as an ephemeral range with LOW and HIGH of different parity (the kernel's preference)."""
    if high > low and (high - low) % 2 == 0:
        high -= 1
    return low, high


def gaps(ports, window):
    """Maximal runs of the window that hold no port: [(low, high), ...]."""
    low, high = window
    inside = sorted(port for port in set(ports) if low <= port <= high)
    result = []
    start = low
    for port in inside:
        if port > start:
            result.append((start, port - 1))
        start = port + 1
    if start <= high:
        result.append((start, high))
    return result


def choose_range(ports, window, min_ephemeral):
    """The largest gap of ``window`` without a service port, as (low, high).

    Both ends get different parity (the kernel's preference; with the same
    parity one edge port is never used by connect()), which may cost one port.
    Ties go to the higher gap.  Raises ServicesError with the numbers when no
    gap keeps ``min_ephemeral`` ports.
    """
    candidates = [_gap_range(lo, hi) for lo, hi in gaps(ports, window)]
    best = None
    for low, high in candidates:
        size = high - low + 1
        if best is None or size >= best[1] - best[0] + 1:
            best = (low, high)
    needed = max(int(min_ephemeral), 1)
    if best is None or best[1] - best[0] + 1 < needed:
        inside = frozenset(port for port in ports if window[0] <= port <= window[1])
        if best is None:
            found = 'every port of it is a service port'
        else:
            found = ('the largest range without a service port (ends of different parity) is %d-%d (%d ports)'
                     % (best[0], best[1], best[1] - best[0] + 1))
        raise ServicesError([
            'reserved_ports_strategy=move_range: no range of at least %d ports (reserved_ports_min_ephemeral) '
            'fits in reserved_ports_move_window %d-%d without a service port: %s; service %s lie in the window. '
            'Widen reserved_ports_move_window, lower reserved_ports_min_ephemeral, or use strategy reserve'
            % (needed, window[0], window[1], found, _ports_word(inside) if inside else 'ports: none')])
    return best


# --------------------------------------------------------------------------- one host

EMPTY_PROBLEM = ('no service ports: no reserved_ports_services* variable has an entry and reserved_ports_discover '
                 'found none. Applied as it stands, this would release every port the role reserved on this host '
                 'earlier (a group_vars file that did not load looks the same). Declare the services, or set '
                 'reserved_ports_allow_empty: true to release them deliberately')


def _free_ports_problem(settings, ports):
    """With strategy reserve and the host's own range: whether no range the kernel allows keeps the minimum."""
    widest = MAX_PORT - KERNEL_LOWEST_PORT + 1
    left = widest - len([port for port in ports if port >= KERNEL_LOWEST_PORT])
    if settings['strategy'] != 'reserve' or settings['range'] is not None or left >= settings['min_ephemeral']:
        return None
    return ('reserved_ports_min_ephemeral=%d cannot be met: the service ports of this host (reserved_ports_services*, '
            'reserved_ports_discover) reserve %d ports, which leaves at most %d for automatic assignment in any '
            'ephemeral range the kernel allows (even %d-%d); reserve fewer ports or lower reserved_ports_min_ephemeral'
            % (settings['min_ephemeral'], widest - left, left, KERNEL_LOWEST_PORT, MAX_PORT))


def _module_args(settings, ports, reserved, port_range):
    """The arguments of portguard.ephemeral.local_ports for this plan."""
    args = {
        'reserved': format_runs(reserved),
        'mode': settings['mode'],
        'live': settings['live'],
        'persist': settings['persist'] and not settings['netns'],
        'path': settings['path'],
        'on_override': settings['on_override'],
        'min_ephemeral': settings['min_ephemeral'],
        'min_free_per_destination': settings['min_free_per_destination'],
        'on_pressure': settings['on_pressure'],
        'examine': format_runs(ports),
        'owner': settings['owner'],
    }
    if port_range is not None:
        args['range'] = list(port_range)
    if settings['netns']:
        args['netns'] = settings['netns']
    return args


def _planned_range(settings, ports):
    """The range to set ([LOW, HIGH], or None to keep the host's); ServicesError when none keeps the minimum free."""
    problem = _free_ports_problem(settings, ports)
    if problem:
        raise ServicesError([problem])
    if settings['strategy'] in ('move_range', 'both'):
        return list(choose_range(ports, settings['move_window'], settings['min_ephemeral']))
    if settings['range'] is None:
        return None
    low, high = settings['range']
    inside = len([port for port in ports if low <= port <= high])
    free = high - low + 1 - inside
    if free < settings['min_ephemeral']:
        raise ServicesError([
            'reserved_ports_range %d %d holds %d ports; reserving the %d service ports inside it leaves %d, '
            'below reserved_ports_min_ephemeral=%d; widen the range or move it with strategy move_range'
            % (low, high, high - low + 1, inside, free, settings['min_ephemeral'])])
    return settings['range']


def host_plan(host_input):
    """Validate one host's collected input and compute what to apply.

    Returns (plan, problems).  ``plan`` is None when there are problems.
    """
    host_input = host_input or {}
    problems = []
    try:
        settings = check_settings(host_input.get('settings'))
    except ServicesError as exc:
        problems.extend(exc.problems)
        settings = None
    services, service_problems = parse_services(host_input.get('services'))
    problems.extend(service_problems)
    problems.extend(duplicate_problems(services))
    found, skipped, found_problems = discovered_services(host_input.get('discovered'), services)
    problems.extend(found_problems)
    if problems:
        return None, problems
    every = services + found
    if not every and not settings['allow_empty'] and not host_input.get('incomplete'):
        return None, [EMPTY_PROBLEM]
    ports = frozenset()
    for service in every:
        ports |= service.ports
    strategy = settings['strategy']
    try:
        port_range = _planned_range(settings, ports)
    except ServicesError as exc:
        return None, exc.problems
    reserved = ports if strategy in ('reserve', 'both') else frozenset()
    plan = {
        'strategy': strategy,
        'services': [service.as_dict() for service in every],
        'ports': format_runs(ports),
        'reserved': format_runs(reserved),
        'range': port_range,
        'discover_skipped': skipped,
        'warnings': null_warnings(host_input.get('services')),
        'settings': settings,
        'module_args': _module_args(settings, ports, reserved, port_range),
    }
    return plan, []


def moved_range_left(plan, result):
    """A warning when this run leaves a range an earlier run persisted (move_range, or an old reserved_ports_range).

    ``result``: what local_ports returned for ``plan``.  With strategy reserve
    and no reserved_ports_range the module keeps the range line of its
    persisted file; that is worth one sentence unless the line holds the
    kernel's default.  None otherwise (an audit, persist off, a range given).
    """
    if plan['strategy'] != 'reserve' or plan['range'] is not None:
        return None
    path = result.get('persisted_file')
    winner = (result.get('boot') or {}).get(RANGE_KEY)
    if not path or not winner or winner.get('file') != path:
        return None
    try:
        persisted = parse_range(winner['value'], RANGE_KEY, 1)
    except PortSpecError:
        return None
    if tuple(persisted) == KERNEL_DEFAULT_RANGE:
        return None
    low, high = persisted
    return ('net.ipv4.ip_local_port_range stays %d %d: %s line %s still sets it, from an earlier move_range run or '
            'reserved_ports_range, and strategy reserve without reserved_ports_range keeps it. Set '
            'reserved_ports_range: "%d %d" to go back to the kernel\'s default, or "%d %d" to keep it without this '
            'warning' % (low, high, path, winner.get('line'), KERNEL_DEFAULT_RANGE[0], KERNEL_DEFAULT_RANGE[1], low, high))
