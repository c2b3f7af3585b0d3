# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a host's inventory says the kernel should look like, for tests/verify.

Deliberately independent of the collection's own parsing code (plugins/
module_utils): the checks must not share a bug with the code they check.
The only thing taken from the collection is the role's documented defaults
(roles/reserved_ports/meta/argument_specs.yml), so a variable the inventory
does not set means what the role says it means.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import fnmatch
import os
import re

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ARGUMENT_SPECS = os.path.join(REPO, 'roles', 'reserved_ports', 'meta', 'argument_specs.yml')
PROBES = os.path.join(HERE, 'probes')

RESERVED_KEY = 'net.ipv4.ip_local_reserved_ports'
RANGE_KEY = 'net.ipv4.ip_local_port_range'
MANAGED_MARKER = '# Managed by portguard.ephemeral.local_ports'
SERVICES_VAR = 'reserved_ports_services'
SERVICES_PREFIX = 'reserved_ports_services_'
# Inventory variables of the checks themselves (not of the role).
EXPECT_VAR = 'portguard_verify_expect'            # applied (default) | unchanged
FOREIGN_VAR = 'portguard_verify_foreign_reserved'  # ports reserved by others that must survive
LISTENERS_ALLOWED_VAR = 'portguard_verify_listeners_allowed'  # ports, ranges, command names
BOOT_APPLIERS_VAR = 'portguard_verify_boot_appliers'  # the boot chain the modules must detect, in order
AFTER_BOOT_VAR = 'portguard_verify_after_boot'        # true: the live values are the predicted after-boot ones
EXPECTATIONS = ('applied', 'unchanged')
DISCOVER_EXCLUDED_PREFIXES = ('ansible_', 'reserved_ports_', '_')
DISCOVER_EXCLUDED_NAMES = frozenset((
    'groups', 'group_names', 'hostvars', 'inventory_hostname', 'inventory_hostname_short',
    'inventory_dir', 'inventory_file', 'omit', 'play_hosts', 'playbook_dir', 'role_name',
    'role_path', 'role_names', 'environment', 'vars',
))
_DECIMAL = re.compile(r'^[1-9][0-9]*$')
_TEMPLATE = re.compile(r'{{|{%')


class InventoryError(ValueError):
    pass


def role_defaults():
    """{option: default} from the role's argument_specs (the documented interface)."""
    with open(ARGUMENT_SPECS) as handle:
        specs = yaml.safe_load(handle)
    options = specs['argument_specs']['main']['options']
    return dict((name, spec.get('default')) for name, spec in options.items())


def is_template(value):
    if isinstance(value, str):
        return bool(_TEMPLATE.search(value))
    if isinstance(value, dict):
        return any(is_template(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_template(item) for item in value)
    return False


# --------------------------------------------------------------------------- ports

def kernel_ports(text):
    """A set of ports from the kernel's canonical form ("8080-8082,9000") or a list of its pieces."""
    if isinstance(text, (list, tuple)):
        text = ','.join(str(item) for item in text)
    ports = set()
    for piece in (text or '').strip().split(','):
        piece = piece.strip()
        if not piece:
            continue
        low, _sep, high = piece.partition('-')
        ports.update(range(int(low), int(high or low) + 1))
    return ports


def kernel_range(text):
    low, high = (text or '').split()
    return int(low), int(high)


def _one(item, where):
    if isinstance(item, bool):
        raise InventoryError('%s: %r is not a port' % (where, item))
    if isinstance(item, int) and 1 <= item <= 65535:
        return set([item])
    if isinstance(item, str):
        text = item.strip()
        low, sep, high = text.partition('-')
        if _DECIMAL.match(low.strip()) and (not sep or _DECIMAL.match(high.strip())):
            first, last = int(low), int(high or low)
            if 1 <= first <= last <= 65535:
                return set(range(first, last + 1))
    raise InventoryError('%s: %r is not a port or "LOW-HIGH" range' % (where, item))


def service_ports(entry, where):
    """The set of ports of one {name, port|ports} mapping."""
    if not isinstance(entry, dict) or 'name' not in entry:
        raise InventoryError('%s: %r is not a {name, port} mapping' % (where, entry))
    value = entry['port'] if 'port' in entry else entry.get('ports')
    items = value if isinstance(value, (list, tuple)) else [value]
    ports = set()
    for item in items:
        ports |= _one(item, '%s (%s)' % (where, entry['name']))
    return ports


class Service(object):
    def __init__(self, name, ports, protocol, source):
        self.name = name
        self.ports = frozenset(ports)
        self.protocol = protocol
        self.source = source

    def __repr__(self):
        return 'Service(%r, %s, %s)' % (self.name, format_ports(self.ports), self.protocol)


def format_ports(ports):
    runs = []
    for port in sorted(ports):
        if runs and port == runs[-1][1] + 1:
            runs[-1][1] = port
        else:
            runs.append([port, port])
    return ','.join('%d' % a if a == b else '%d-%d' % (a, b) for a, b in runs)


# --------------------------------------------------------------------------- expectation

class Expectation(object):
    """What the kernel and the files of one host should show after the role ran."""

    def __init__(self, name, hostvars, resolve=None):
        self.host = name
        defaults = role_defaults()
        resolve = resolve or (lambda var, value: value)

        def get(var):
            if var in hostvars:
                value = hostvars[var]
                return resolve(var, value) if is_template(value) else value
            return defaults.get(var)

        self.expect = get(EXPECT_VAR) or 'applied'
        if self.expect not in EXPECTATIONS:
            raise InventoryError('host %s: %s=%r is not one of %s' % (name, EXPECT_VAR, self.expect, ', '.join(EXPECTATIONS)))
        self.strategy = get('reserved_ports_strategy')
        self.mode = get('reserved_ports_mode')
        self.path = get('reserved_ports_path')
        self.live = bool(get('reserved_ports_live'))
        self.netns = get('reserved_ports_netns') or ''
        self.persist = bool(get('reserved_ports_persist')) and not self.netns
        self.min_ephemeral = int(get('reserved_ports_min_ephemeral'))
        explicit = get('reserved_ports_range')
        self.range = None
        if explicit not in (None, '', []):
            low, high = explicit.split() if isinstance(explicit, str) else explicit
            self.range = (int(low), int(high))
        self._hostvars = hostvars
        self._get = get
        self._services = None
        foreign = get(FOREIGN_VAR) or []
        self.foreign = set()
        for item in foreign if isinstance(foreign, (list, tuple)) else [foreign]:
            self.foreign |= _one(item, 'host %s: %s' % (name, FOREIGN_VAR))

    @property
    def services(self):
        """The services the inventory declares (parsed on first use: a bad_input host need not parse)."""
        if self._services is None:
            self._services = self._parse_services()
        return self._services

    def _parse_services(self):
        name, hostvars, get = self.host, self._hostvars, self._get
        services = []
        names = sorted(var for var in hostvars if var == SERVICES_VAR or var.startswith(SERVICES_PREFIX))
        for var in names:
            value = get(var)
            if value in (None, ''):
                continue
            if not isinstance(value, (list, tuple)):
                raise InventoryError('host %s: %s is not a list of services' % (name, var))
            for index, entry in enumerate(value):
                where = '%s[%d]' % (var, index)
                protocol = str(entry.get('protocol') or 'tcp').lower() if isinstance(entry, dict) else 'tcp'
                services.append(Service(entry.get('name') if isinstance(entry, dict) else None,
                                        service_ports(entry, 'host %s: %s' % (name, where)), protocol, where))
        patterns = get('reserved_ports_discover') or []
        claimed = set()
        for service in services:
            claimed |= service.ports
        for var in sorted(hostvars):
            if var.startswith(DISCOVER_EXCLUDED_PREFIXES) or var in DISCOVER_EXCLUDED_NAMES:
                continue
            if not any(fnmatch.fnmatchcase(var, pattern) for pattern in patterns):
                continue
            value = get(var)
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, str) and _DECIMAL.match(value.strip()):
                value = int(value.strip())
            if not isinstance(value, int) or value in claimed:
                continue
            claimed.add(value)
            services.append(Service(var, [value], 'both', var))
        return services

    @property
    def ports(self):
        ports = set()
        for service in self.services:
            ports |= service.ports
        return ports

    @property
    def reserves(self):
        return self.strategy in ('reserve', 'both')

    @property
    def moves(self):
        return self.strategy in ('move_range', 'both')

    def probe_services(self):
        """[{port, tcp, udp}] for the behavioural probe."""
        found = {}
        for service in self.services:
            for port in service.ports:
                item = found.setdefault(port, {'port': port, 'tcp': False, 'udp': False})
                item['tcp'] = item['tcp'] or service.protocol in ('tcp', 'both')
                item['udp'] = item['udp'] or service.protocol in ('udp', 'both')
        return [found[port] for port in sorted(found)]


# --------------------------------------------------------------------------- shipping probes

def script_command(name, python='python3'):
    """The pieces of a command that runs probes/NAME, no file copied: (python, loader, code).

    Run as ``PYTHON -c LOADER CODE ARGS...``: LOADER takes CODE (the probe, base64)
    from its argv and runs it with the rest as the probe's arguments.  Pass all of
    them as arguments to testinfra's ``host.run(template, *args)``, which quotes them.
    """
    with open(os.path.join(PROBES, name), 'rb') as handle:
        code = base64.b64encode(handle.read()).decode('ascii')
    loader = ('import base64,sys;c=sys.argv.pop(1);'
              'exec(compile(base64.b64decode(c),%r,"exec"))' % name)
    return python, loader, code


def parse_sysctl_file(text):
    """{key: value} of `key = value` lines (the last one wins), ignoring comments."""
    values = {}
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line[0] in '#;':
            continue
        key, sep, value = line.partition('=')
        if sep:
            values[key.strip().lstrip('-').replace('/', '.')] = value.strip()
    return values


def allowed_listeners(value):
    """(ports, command names) from portguard_verify_listeners_allowed: ports, "LOW-HIGH", names."""
    ports, names = set(), set()
    for item in value or ():
        try:
            ports |= _one(item, LISTENERS_ALLOWED_VAR)
        except InventoryError:
            if not isinstance(item, str) or not item.strip():
                raise InventoryError('%s: %r is neither a port, a "LOW-HIGH" range nor a command name'
                                     % (LISTENERS_ALLOWED_VAR, item))
            names.add(item.strip())
    return ports, names


def undeclared_listeners(listeners, reserved, declared, allowed_ports=(), allowed_names=()):
    """The listeners (probes/listeners.py entries, all inside the range) that nobody declared.

    Not reserved, not a declared service port, not an allowed port, and not
    held only by allowed commands.
    """
    found = []
    for item in listeners:
        port = item['port']
        if port in reserved or port in declared or port in allowed_ports:
            continue
        names = [proc.get('comm') for proc in item.get('processes') or ()]
        if names and all(name in allowed_names for name in names):
            continue
        found.append(item)
    return found
