# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""testinfra checks of portguard.ephemeral.reserved_ports, against any inventory.

    .venv/bin/pytest --hosts='ansible://all' --ansible-inventory=INVENTORY tests/verify
    (molecule's testinfra verifier passes --connection=ansible and its inventory)

Every expected port comes from the inventory (``host.ansible.get_variables()``):
``reserved_ports_services`` plus every ``reserved_ports_services_*`` variable,
``reserved_ports_discover`` matches, the role's settings or their documented
defaults.  Two inventory variables belong to the checks themselves:

  portguard_verify_expect            applied (default): the role ran on this host;
                                     unchanged: it must have left the host as the
                                     --baseline snapshot shows (check mode, bad input)
  portguard_verify_foreign_reserved  ports reserved by someone else that must survive

Options (each also an environment variable):

  --probe off|sockopt|all     PORTGUARD_VERIFY_PROBE, default off (read-only).
        sockopt: the behavioural probe - exhaust windows of the ephemeral range
        around every service port with real sockets (IP_LOCAL_PORT_RANGE per
        socket, no sysctl written) and bind every service port.  It holds ports
        and binds service ports for a moment: opt in on a live fleet.
        all: also narrow the namespace's own ip_local_port_range to each window
        and restore it - only for hosts that are local containers (podman or
        docker connection) whose network namespace differs from this machine's.
  --baseline DIR              PORTGUARD_VERIFY_BASELINE: DIR/<host>.json snapshots
                              (probes/state.py) for hosts expected unchanged.
  --report PATH               PORTGUARD_VERIFY_REPORT: the role's fleet report
                              (PATH.json and PATH.md) to check against the hosts.
  --undeclared-listeners off|fail
                              PORTGUARD_VERIFY_UNDECLARED_LISTENERS, default off.
        fail: test_undeclared_listeners fails for every listener (TCP LISTEN,
        bound unconnected UDP) inside the host's ephemeral range whose port is
        neither reserved nor declared in the inventory: an outgoing connection
        can take its port while it is stopped.  Known ones are allowed per host
        or group with the inventory variable portguard_verify_listeners_allowed
        (ports, "LOW-HIGH" ranges and command names such as rpc.statd).  Off, the
        check is deselected (nothing checked is not a pass).
  --coexist DIR               PORTGUARD_VERIFY_COEXIST: the steps molecule/coexist
                              recorded (DIR/<step>/<host>.json), for test_coexist.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

import pytest
import testinfra

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import verifylib  # noqa: E402  pylint: disable=wrong-import-position

# testinfra's ansible backend runs ansible-inventory and ansible from PATH: take them from the
# environment pytest runs in (a venv called by its path, not activated), before any other.
_BIN = os.path.dirname(os.path.abspath(sys.executable))
if os.path.exists(os.path.join(_BIN, 'ansible')) and _BIN not in os.environ.get('PATH', '').split(os.pathsep):
    os.environ['PATH'] = _BIN + os.pathsep + os.environ.get('PATH', '')

CONTAINER_CONNECTIONS = {
    'podman': 'podman', 'containers.podman.podman': 'podman',
    'docker': 'docker', 'community.docker.docker': 'docker',
}
PROBE_MODES = ('off', 'sockopt', 'all')
UNDECLARED_MODES = ('off', 'fail')


def pytest_addoption(parser):
    group = parser.getgroup('portguard', 'portguard.ephemeral verify')
    group.addoption('--probe', choices=PROBE_MODES, default=os.environ.get('PORTGUARD_VERIFY_PROBE') or 'off',
                    help='behavioural probe: off (default, read-only), sockopt, all (see conftest docstring)')
    group.addoption('--baseline', default=os.environ.get('PORTGUARD_VERIFY_BASELINE') or None,
                    help='directory of <host>.json snapshots for hosts with portguard_verify_expect: unchanged')
    group.addoption('--report', default=os.environ.get('PORTGUARD_VERIFY_REPORT') or None,
                    help='path (without extension) of the fleet report the role wrote')
    group.addoption('--undeclared-listeners', choices=UNDECLARED_MODES,
                    default=os.environ.get('PORTGUARD_VERIFY_UNDECLARED_LISTENERS') or 'off',
                    help='fail: fail for listeners inside the ephemeral range that are neither reserved nor '
                         'declared (default off: the check is deselected)')
    group.addoption('--coexist', default=os.environ.get('PORTGUARD_VERIFY_COEXIST') or None,
                    help='directory of the steps recorded by the molecule scenario coexist')


def pytest_configure(config):
    config.addinivalue_line('markers', 'expect(kind): run only on hosts whose portguard_verify_expect is kind')
    config.addinivalue_line('markers', 'undeclared_listeners: run only with --undeclared-listeners fail')
    config.addinivalue_line('markers', 'host_var(name): run only on hosts where the inventory variable name is set')
    if config.getoption('probe') not in PROBE_MODES:
        raise pytest.UsageError('--probe must be one of %s' % ', '.join(PROBE_MODES))
    if config.getoption('undeclared_listeners') not in UNDECLARED_MODES:
        raise pytest.UsageError('--undeclared-listeners (PORTGUARD_VERIFY_UNDECLARED_LISTENERS) must be one of %s'
                                % ', '.join(UNDECLARED_MODES))


def _host_name(item):
    callspec = getattr(item, 'callspec', None)
    host = callspec.params.get('_testinfra_host') if callspec else None
    return host


def pytest_collection_modifyitems(config, items):
    """Deselect checks that do not apply: to a host's expectation (applied / unchanged),
    the report checks when no --report was given and the coexist checks when no --coexist
    was given (nothing to check is not a pass)."""
    keep, drop = [], []
    no_report = config.getoption('report') is None
    no_listeners = config.getoption('undeclared_listeners') != 'fail'
    no_coexist = config.getoption('coexist') is None
    for item in items:
        fixtures = getattr(item, 'fixturenames', ())
        if (no_report and 'host_report' in fixtures) or (no_coexist and 'coexist_steps' in fixtures):
            drop.append(item)
            continue
        if no_listeners and item.get_closest_marker('undeclared_listeners') is not None:
            drop.append(item)
            continue
        marker = item.get_closest_marker('expect')
        needs = item.get_closest_marker('host_var')
        host = _host_name(item)
        if (marker is None and needs is None) or host is None:
            keep.append(item)
            continue
        try:
            hostvars = host.ansible.get_variables()
        except RuntimeError:
            keep.append(item)
            continue
        expect = hostvars.get(verifylib.EXPECT_VAR) or 'applied'
        wanted = marker is None or expect == marker.args[0]
        (keep if wanted and (needs is None or hostvars.get(needs.args[0])) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class Target(object):
    """One inventory host: its variables, a fast command runner, cached results."""

    def __init__(self, host):
        self.host = host
        self.vars = host.ansible.get_variables()
        self.name = self.vars['inventory_hostname']
        self.python = self.vars.get('ansible_python_interpreter') or 'python3'
        if verifylib.is_template(self.python) or '{' in self.python:
            self.python = 'python3'
        connection = self.vars.get('ansible_connection', 'ssh')
        self.container = CONTAINER_CONNECTIONS.get(connection)
        self.runner = host
        if self.container:
            # podman/docker exec directly: each command through `ansible -m shell` costs seconds.
            self.runner = testinfra.get_host('%s://%s' % (self.container, self.vars.get('ansible_host') or self.name))
        self.expected = verifylib.Expectation(self.name, self.vars, self.resolve)
        self._state = None
        self._info = None
        self._listeners = None
        self._probes = {}

    def resolve(self, var, value):
        """A templated inventory value, rendered by Ansible on the controller."""
        result = self.host.ansible('ansible.builtin.debug', 'var=%s' % var)
        return result.get(var, value)

    def run_script(self, name, *args):
        python, loader, code = verifylib.script_command(name, self.python)
        template = '%s -c %s %s' + ' %s' * len(args)
        out = self.runner.run(template, python, loader, code, *args)
        assert out.rc == 0, 'probes/%s failed on %s (rc %s): %s' % (name, self.name, out.rc, out.stderr)
        try:
            return json.loads(out.stdout)
        except ValueError:
            raise AssertionError('probes/%s on %s printed no JSON: %r %r' % (name, self.name, out.stdout, out.stderr))

    def state(self):
        if self._state is None:
            extra = [self.expected.path] if self.expected.path else []
            self._state = self.run_script('state.py', *extra)
        return self._state

    def listeners(self):
        """probes/listeners.py: the listeners inside the ephemeral range, with their processes."""
        if self._listeners is None:
            self._listeners = self.run_script('listeners.py')
        return self._listeners

    def refresh(self):
        self._state = None
        self._info = None
        return self.state()

    def info(self):
        """portguard.ephemeral.local_ports_info on the host, through Ansible (read-only)."""
        if self._info is None:
            ports = sorted(self.expected.ports)
            args = json.dumps({'examine': verifylib.format_ports(ports)} if ports else {'examine': []})
            self._info = self.host.ansible('portguard.ephemeral.local_ports_info', args)
        return self._info

    def probe(self, mode, forbid):
        if mode not in self._probes:
            params = {'services': self.expected.probe_services(), 'mode': mode, 'half_window': 32}
            if forbid:
                params['forbid_netns'] = forbid
            self._probes[mode] = self.run_script('probe.py', json.dumps(params, sort_keys=True))
        return self._probes[mode]


@pytest.fixture(scope='session')
def _targets():
    return {}


@pytest.fixture
def target(host, _targets):
    key = id(host)
    if key not in _targets:
        _targets[key] = Target(host)
    return _targets[key]


@pytest.fixture(scope='session')
def controller_netns():
    """This machine's namespaces, which a range-mode probe must never write."""
    found = []
    for path in ('/proc/self/ns/net', '/proc/1/ns/net'):
        try:
            st = os.stat(path)
        except OSError:
            continue
        item = {'inode': st.st_ino, 'dev': st.st_dev}
        if item not in found:
            found.append(item)
    return found


@pytest.fixture(scope='session')
def probe_mode(pytestconfig):
    return pytestconfig.getoption('probe')


@pytest.fixture(scope='session')
def baseline_dir(pytestconfig):
    return pytestconfig.getoption('baseline')


@pytest.fixture(scope='session')
def report(pytestconfig):
    """The fleet report as (json data, markdown text), or None without --report."""
    base = pytestconfig.getoption('report')
    if not base:
        return None
    base = base[:-5] if base.endswith('.json') else base[:-3] if base.endswith('.md') else base
    with open(base + '.json') as handle:
        data = json.load(handle)
    with open(base + '.md') as handle:
        markdown = handle.read()
    return data, markdown


@pytest.fixture(scope='session')
def coexist_dir(pytestconfig):
    return pytestconfig.getoption('coexist')
