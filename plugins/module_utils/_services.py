# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service declarations from inventory: merge, discover, validate, plan, report.

Private to the collection.  Pure functions, standard library only; the role's
filter plugins call them on the controller, before any host is touched.

Inputs per host, as the role collects them (``collect``/``host_plan``):

- ``services``: ``{variable name: value}`` for ``reserved_ports_services`` and
  every ``reserved_ports_services_*`` variable.  Each value is a list of
  ``{name, port}`` or ``{name, ports}`` mappings (a port is an int or a
  ``"LOW-HIGH"`` string; ``ports`` may also be a list of those), with optional
  ``protocol`` (tcp, udp, both; default tcp) and ``note``.
- ``discovered``: ``{variable name: value}`` for the variables whose names
  match ``reserved_ports_discover`` (glob patterns such as ``*_port``).
- ``settings``: the strategy and its numbers.

Every problem of every host is collected and raised at once as
``ServicesError``; nothing is returned for a fleet with a problem, so the role
changes no host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re

from ansible_collections.portguard.ephemeral.plugins.module_utils._ports import (
    MAX_PORT,
    PortSpecError,
    format_runs,
    parse_ports,
    parse_range,
    port_runs,
)

SERVICES_VAR = 'reserved_ports_services'
SERVICES_PREFIX = 'reserved_ports_services_'
SERVICES_RE = r'^reserved_ports_services(_.+)?$'
PROTOCOLS = ('tcp', 'udp', 'both')
DEFAULT_PROTOCOL = 'tcp'
SERVICE_KEYS = ('name', 'port', 'ports', 'protocol', 'note')
STRATEGIES = ('reserve', 'move_range', 'both')

# The role's defaults (roles/reserved_ports/defaults/main.yml), used for a host
# whose settings were not collected in this play (a later batch of `serial`, or
# a host that failed before the role).
DEFAULT_SETTINGS = {
    'strategy': 'reserve',
    'range': '',
    'move_window': [32768, 60999],
    'min_ephemeral': 8192,
    'mode': 'merge',
    'on_held': 'warn',
    'on_override': 'fail',
    'discover': [],
}
SETTING_VARS = {
    'strategy': 'reserved_ports_strategy',
    'range': 'reserved_ports_range',
    'move_window': 'reserved_ports_move_window',
    'min_ephemeral': 'reserved_ports_min_ephemeral',
    'mode': 'reserved_ports_mode',
    'on_held': 'reserved_ports_on_held',
    'on_override': 'reserved_ports_on_override',
    'discover': 'reserved_ports_discover',
}
CHOICES = {
    'strategy': STRATEGIES,
    'mode': ('merge', 'exact'),
    'on_held': ('warn', 'fail'),
    'on_override': ('fail', 'warn'),
}

# Never taken by discovery: connection settings (ansible_port is the SSH port),
# the role's own variables, private ones, and Ansible's magic variables.
DISCOVER_EXCLUDED_PREFIXES = ('ansible_', 'reserved_ports_', '_')
DISCOVER_EXCLUDED_NAMES = frozenset((
    'groups', 'group_names', 'hostvars', 'inventory_hostname', 'inventory_hostname_short',
    'inventory_dir', 'inventory_file', 'omit', 'play_hosts', 'playbook_dir', 'role_name',
    'role_path', 'role_names', 'environment', 'vars',
))

_DECIMAL = re.compile(r'^[1-9][0-9]*$')


class ServicesError(ValueError):
    """One or more problems, each a complete sentence naming host, variable and value."""

    def __init__(self, problems):
        self.problems = list(problems)
        super(ServicesError, self).__init__('\n'.join(self.problems))


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def _runs_text(ports):
    return ','.join('%d' % lo if lo == hi else '%d-%d' % (lo, hi) for lo, hi in port_runs(ports))


def _ports_word(ports):
    return ('port %s' if len(ports) == 1 else 'ports %s') % _runs_text(ports)


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


def check_settings(settings):
    """Validate and normalise the strategy settings of one host; raise ServicesError."""
    merged = dict(DEFAULT_SETTINGS)
    merged.update(dict((key, value) for key, value in (settings or {}).items() if key in DEFAULT_SETTINGS))
    problems = []
    out = {}
    for key, choices in CHOICES.items():
        value = merged[key]
        if not isinstance(value, str) or value not in choices:
            problems.append('%s: %s is not one of %s' % (SETTING_VARS[key], _short(value), ', '.join(choices)))
        out[key] = value
    for key, low, high in (('min_ephemeral', 0, MAX_PORT),):
        try:
            out[key] = _int_setting(merged[key], SETTING_VARS[key], low, high)
        except ServicesError as exc:
            problems.extend(exc.problems)
    for key in ('range', 'move_window'):
        value = merged[key]
        if key == 'range' and (value is None or value == '' or value == []):
            out[key] = None
            continue
        try:
            # ip_unprivileged_port_start is known only on the host; the module checks it there.
            out[key] = list(parse_range(value, SETTING_VARS[key], 1))
        except PortSpecError as exc:
            problems.append(str(exc))
    try:
        out['discover'] = check_patterns(merged['discover'])
    except ServicesError as exc:
        problems.extend(exc.problems)
    if not problems and out['range'] is not None and out['strategy'] != 'reserve':
        problems.append('reserved_ports_range: %s is set, but reserved_ports_strategy=%s chooses the range itself; '
                        'remove reserved_ports_range, or bound the choice with reserved_ports_move_window'
                        % (_short(merged['range']), out['strategy']))
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


# --------------------------------------------------------------------------- one host, the fleet

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
    ports = frozenset()
    for service in every:
        ports |= service.ports
    port_range = None
    strategy = settings['strategy']
    try:
        if strategy in ('move_range', 'both'):
            port_range = list(choose_range(ports, settings['move_window'], settings['min_ephemeral']))
        elif settings['range'] is not None:
            port_range = settings['range']
            low, high = port_range
            inside = len([port for port in ports if low <= port <= high])
            free = high - low + 1 - inside
            if free < settings['min_ephemeral']:
                raise ServicesError([
                    'reserved_ports_range %d %d holds %d ports; reserving the %d service ports inside it leaves %d, '
                    'below reserved_ports_min_ephemeral=%d; widen the range or move it with strategy move_range'
                    % (low, high, high - low + 1, inside, free, settings['min_ephemeral'])])
    except ServicesError as exc:
        return None, exc.problems
    reserved = ports if strategy in ('reserve', 'both') else frozenset()
    plan = {
        'strategy': strategy,
        'services': [service.as_dict() for service in every],
        'ports': format_runs(ports),
        'reserved': format_runs(reserved),
        'range': port_range,
        'skipped': skipped,
        'settings': settings,
    }
    return plan, []


def fleet_plan(inputs, hosts=None):
    """Validate every host; return {host: plan} or raise ServicesError listing every problem."""
    hosts = list(inputs) if hosts is None else list(hosts)
    plans = {}
    problems = []
    for host in hosts:
        plan, host_problems = host_plan(inputs.get(host))
        problems.extend('host %s: %s' % (host, problem) for problem in host_problems)
        plans[host] = plan
    if problems:
        raise ServicesError(problems)
    return plans


# --------------------------------------------------------------------------- report

def _holder_text(sock):
    """``tcp ESTABLISHED 127.0.0.1:36601 -> 127.0.0.1:5000 (uid 0)`` from a local_ports_info socket."""
    if not isinstance(sock, dict):
        return str(sock)
    parts = [str(sock[key]) for key in ('protocol', 'state', 'local') if sock.get(key)]
    if sock.get('remote'):
        parts.append('-> %s' % sock['remote'])
    if sock.get('uid') is not None and sock.get('state') != 'TIME_WAIT':
        parts.append('(uid %s)' % sock['uid'])
    return ' '.join(parts) or str(sock)


def _audit_ports(audit):
    """{port: entry} from a local_ports_info result (None when there is no usable result)."""
    if not isinstance(audit, dict) or audit.get('skipped') or audit.get('failed') or 'ports' not in audit:
        return None
    entries = {}
    for item in audit.get('ports') or []:
        if isinstance(item, dict) and isinstance(item.get('port'), int):
            entries[item['port']] = item
    return entries


def _is_held(entry):
    """Held by a socket that is not the service's listener: holders and no listener on the port."""
    return bool(entry and entry.get('holders') and not entry.get('listener_count', len(entry.get('listeners') or [])))


def _holders_text(entry, limit=3):
    holders = entry.get('holders') or []
    shown = '; '.join(_holder_text(sock) for sock in holders[:limit])
    total = entry.get('holder_count', len(holders))
    if total > limit:
        shown += '; and %d more' % (total - limit)
    return shown


def held_problems(plan, audit):
    """Service ports held right now by a socket that is not a listener (and no listener is up)."""
    entries = _audit_ports(audit)
    if not plan or not entries:
        return []
    names = {}
    for service in plan['services']:
        for port in parse_ports(service['ports'], 'ports'):
            names.setdefault(port, []).append(service['name'])
    messages = []
    for port in sorted(entries):
        entry = entries[port]
        if port not in names or not _is_held(entry):
            continue
        messages.append('port %d (%s) is held right now by a socket that is not its listener: %s. The service '
                        'cannot bind it until that socket closes (an outgoing connection in TIME_WAIT keeps it '
                        '60 s); the reservation only stops the kernel from choosing it again'
                        % (port, ', '.join(names[port]), _holders_text(entry)))
    return messages


def _usable(result):
    return isinstance(result, dict) and not result.get('skipped') and not result.get('failed')


def _kernel_after(applied, audit):
    """(range, reserved set, source) after this run, or (None, None, None).

    The module's result is the state it left (or, in check mode, would leave);
    without it, the audit's live values.
    """
    if _usable(applied) and 'range' in applied:
        try:
            return (tuple(applied['range']['after']), parse_ports(applied['reserved']['after'] or [], 'reserved'),
                    'local_ports')
        except (KeyError, TypeError, PortSpecError):
            pass
    if _usable(audit) and 'range' in audit:
        try:
            reserved = audit.get('reserved') or {}
            if isinstance(reserved, dict):
                reserved = reserved.get('canonical', '')
            return tuple(audit['range']), parse_ports(reserved or [], 'reserved'), 'local_ports_info'
        except (KeyError, TypeError, ValueError, PortSpecError):
            pass
    return None, None, None


def _status(ports, port_range, reserved):
    """(protected, text) for a run of ports under a range and a reserved set."""
    if port_range is None:
        return None, 'unknown: no kernel values from this host'
    low, high = port_range
    exposed = frozenset(port for port in ports if low <= port <= high and port not in reserved)
    if exposed:
        return False, '%s inside the ephemeral range %d-%d and not reserved' % (_ports_word(exposed), low, high)
    if all(port < low or port > high for port in ports):
        return True, 'outside the ephemeral range %d-%d' % (low, high)
    return True, 'reserved'


def _audit_status(ports, entries):
    """(protected, text) from local_ports_info's per-port verdicts, or (None, None)."""
    found = [entries.get(port) for port in sorted(ports)]
    if not found or any(entry is None or 'at_risk' not in entry for entry in found):
        return None, None
    risky = [entry for entry in found if entry['at_risk']]
    if not risky:
        reasons = sorted(set(str(entry.get('reason') or 'not at risk') for entry in found))
        return True, '; '.join(reasons)
    reasons = []
    for entry in risky:
        reason = str(entry.get('reason') or 'at risk')
        if reason not in reasons:
            reasons.append(reason)
    prefix = '' if len(ports) == 1 else '%s: ' % _ports_word(frozenset(entry['port'] for entry in risky))
    return False, prefix + '; '.join(reasons)


def report(hosts, per_host, check_mode=False):
    """The fleet report as a dict: ``hosts`` (summary per host) and ``rows``.

    ``per_host``: {host: {'plan': ..., 'applied': result or None, 'audit': result or None,
    'state': 'ok' | 'failed or unreachable' | ...}}.  A row's verdict comes from
    local_ports_info (which also knows the boot values and the sockets) when it
    ran after a real change, else from local_ports' resulting (in check mode:
    planned) values.
    """
    rows = []
    summary = {}
    for host in hosts:
        data = per_host.get(host) or {}
        plan = data.get('plan')
        applied = data.get('applied') if _usable(data.get('applied')) else None
        audit = data.get('audit') if _usable(data.get('audit')) else None
        state = data.get('state', 'ok')
        port_range, reserved, source = _kernel_after(applied, audit)
        entries = _audit_ports(audit) or {}
        use_audit = bool(entries) and not (check_mode and applied is not None)
        summary[host] = {
            'state': state,
            'strategy': plan['strategy'] if plan else None,
            'range': list(port_range) if port_range else None,
            'reserved': format_runs(reserved) if reserved is not None else None,
            'ephemeral_ports': (applied['ephemeral_ports'].get('after') if applied and isinstance(
                applied.get('ephemeral_ports'), dict) else (audit or {}).get('ephemeral_ports')),
            'netns': (applied or audit or {}).get('netns'),
            'boot': (audit or {}).get('boot') and dict(
                (key, {'value': value.get('value'), 'file': value.get('file')})
                for key, value in audit['boot'].items() if isinstance(value, dict)),
            'warnings': list((applied or {}).get('warnings') or []),
        }
        if not plan:
            continue
        for service in plan['services']:
            for item in service['ports']:
                ports = parse_ports([item], 'ports')
                protected, status = (None, None)
                if use_audit:
                    protected, status = _audit_status(ports, entries)
                if status is None:
                    protected, status = _status(ports, port_range, reserved or frozenset())
                if protected is None and state != 'ok':
                    status = 'unknown: host %s' % state
                held = []
                for port in sorted(ports):
                    entry = entries.get(port)
                    if _is_held(entry):
                        held.append('%d: %s' % (port, _holders_text(entry)) if len(ports) > 1 else _holders_text(entry))
                rows.append({
                    'host': host,
                    'service': service['name'],
                    'protocol': service['protocol'],
                    'port': item,
                    'protected': protected,
                    'status': status,
                    'held_by': held,
                    'note': service['note'],
                    'source': ', '.join(service['sources']),
                })
    return {
        'generated_by': 'portguard.ephemeral.reserved_ports',
        'check_mode': bool(check_mode),
        'hosts': summary,
        'rows': rows,
    }
