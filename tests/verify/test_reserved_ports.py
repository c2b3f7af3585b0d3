# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hosts the role ran on: live values, persisted file, boot winner, behaviour of the kernel.

Every expected port comes from the host's inventory (see conftest.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from verifylib import (
    MANAGED_MARKER,
    RANGE_KEY,
    RESERVED_KEY,
    format_ports,
    kernel_ports,
    kernel_range,
    parse_sysctl_file,
)

pytestmark = pytest.mark.expect('applied')


def _live(target):
    exp = target.expected
    if exp.netns:
        pytest.skip('reserved_ports_netns=%s: these checks read the host namespace, not that one' % exp.netns)
    if not exp.live:
        pytest.skip('reserved_ports_live is false: the role does not touch the running kernel')
    state = target.state()
    return state, kernel_ports(state['live']['reserved']), kernel_range(state['live']['range'])


def test_inventory_declares_service_ports(target):
    assert target.expected.ports, (
        '%s declares no service port (reserved_ports_services*, reserved_ports_discover): nothing to check; '
        'limit the run to hosts that declare services, e.g. --hosts=ansible://GROUP' % target.name)


def test_live_reservations(target):
    state, reserved, _range = _live(target)
    exp = target.expected
    if exp.reserves:
        missing = exp.ports - reserved
        assert not missing, '%s: service ports not reserved in the running kernel: %s (live: %s)' % (
            target.name, format_ports(missing), state['live']['reserved'].strip())
        if exp.mode == 'exact':
            extra = reserved - exp.ports
            assert not extra, '%s: mode exact, yet %s are reserved too' % (target.name, format_ports(extra))
    lost = exp.foreign - reserved
    assert not lost, '%s: reservations made by others were dropped: %s' % (target.name, format_ports(lost))


def test_live_range(target):
    _state, reserved, (low, high) = _live(target)
    exp = target.expected
    if exp.range and not exp.moves:
        assert (low, high) == exp.range, '%s: range %d-%d, inventory asks %d-%d' % ((target.name, low, high) + exp.range)
    if exp.moves:
        inside = sorted(port for port in exp.ports if low <= port <= high)
        assert not inside, '%s: strategy %s, yet service ports %s are inside the range %d-%d' % (
            target.name, exp.strategy, format_ports(inside), low, high)
    free = high - low + 1 - len([port for port in reserved if low <= port <= high])
    assert free >= exp.min_ephemeral, '%s: only %d ephemeral ports left (%d-%d minus reservations), below %d' % (
        target.name, free, low, high, exp.min_ephemeral)


def test_persisted_file(target):
    state, reserved, port_range = _live(target)
    exp = target.expected
    if not exp.persist:
        pytest.skip('reserved_ports_persist is false')
    text = state['texts'].get(exp.path)
    assert text is not None, '%s: %s does not exist' % (target.name, exp.path)
    assert text.startswith(MANAGED_MARKER), '%s: %s lacks the managed header %r' % (target.name, exp.path, MANAGED_MARKER)
    values = parse_sysctl_file(text)
    if exp.reserves or exp.foreign:
        assert RESERVED_KEY in values, '%s: %s does not set %s' % (target.name, exp.path, RESERVED_KEY)
    if RESERVED_KEY in values:
        # The file persists its owners' ports and what other sysctl files declare; ports another writer
        # reserved only live (sysctl -w) stay reserved live and are not persisted.
        persisted = kernel_ports(values[RESERVED_KEY])
        assert persisted <= reserved, '%s: %s persists %s, which the kernel does not hold now (drift)' % (
            target.name, exp.path, format_ports(persisted - reserved))
        if exp.reserves:
            assert exp.ports <= persisted, '%s: %s does not persist the service ports %s' % (
                target.name, exp.path, format_ports(exp.ports - persisted))
    if exp.moves or exp.range:
        assert RANGE_KEY in values, '%s: %s does not set %s' % (target.name, exp.path, RANGE_KEY)
    if RANGE_KEY in values:
        assert kernel_range(values[RANGE_KEY]) == port_range, '%s: %s persists range %s, the kernel has %d-%d' % (
            (target.name, exp.path, values[RANGE_KEY]) + port_range)


def test_boot_winner(target):
    """local_ports_info resolves which sysctl.d file wins at boot: it must be ours, with the live values."""
    state, reserved, port_range = _live(target)
    exp = target.expected
    if not exp.persist:
        pytest.skip('reserved_ports_persist is false')
    info = target.info()
    values = parse_sysctl_file(state['texts'].get(exp.path))
    for key in (RESERVED_KEY, RANGE_KEY):
        if key not in values:
            continue
        boot = info['boot'][key]
        assert boot['file'] == exp.path, '%s: at boot %s comes from %s (line %s), not %s' % (
            target.name, key, boot['file'], boot.get('line'), exp.path)
        assert boot['valid'] is True, '%s: the boot value of %s is invalid: %s' % (target.name, key, boot.get('error'))
    # Live may hold more than boot: ports other writers reserved only live (sysctl -w) are not persisted.
    # Nothing the boot values reserve may be missing live, and the range must agree.
    drift = info['drift']
    extra = kernel_ports((drift.get('reserved') or {}).get('extra', {}).get('canonical', ''))
    missing = kernel_ports((drift.get('reserved') or {}).get('missing', {}).get('canonical', ''))
    assert drift['range'] is None and not missing and extra <= exp.foreign, (
        '%s: live values differ from the boot values beyond other writers\' live-only ports: %s'
        % (target.name, drift))
    risky = [entry for entry in info['ports'] if entry['at_risk']]
    assert not risky, '%s: service ports at risk: %s' % (
        target.name, ['%d: %s' % (entry['port'], entry['reason']) for entry in risky])
    assert sorted(entry['port'] for entry in info['ports']) == sorted(exp.ports)
    systemd = state['systemd']
    if systemd['running']:
        service = systemd['sysctl_service'] or {}
        assert service.get('ActiveState') == 'active' and service.get('Result') == 'success', (
            '%s: systemd-sysctl.service did not succeed at boot: %s' % (target.name, service))


def _judge_probe(target, result, reserved, port_range):
    exp = target.expected
    low, high = port_range
    assert result['error'] is None, '%s: probe error: %s' % (target.name, result['error'])
    state = target.state()
    assert result['netns']['inode'] == state['netns']['inode'], 'probe and state ran in different namespaces'
    assert result['range'] == [low, high] and result['range_after'] == [low, high], (
        '%s: the range changed during the probe: %s -> %s' % (target.name, result['range'], result['range_after']))
    if result['mode'] == 'sockopt' or reserved & exp.ports or any(low <= port <= high for port in exp.ports):
        assert result['windows'], '%s: the probe exhausted no window' % target.name
    covered = set()
    handed = set()
    bound_low, bound_high = result['bounds']
    if result['mode'] == 'sockopt':
        assert (bound_low, bound_high) == (low, high)
    for window in result['windows']:
        a, b = window['expect']
        assert bound_low <= a <= b <= bound_high and (b - a + 1) % 2 == 0, window['expect']
        span = set(range(a, b + 1))
        covered |= span
        for kind, phase in sorted(window['phases'].items()):
            ports = set(phase['ports'])
            where = '%s %s in window %d-%d' % (target.name, kind, a, b)
            given = ports & reserved
            assert not given, '%s: the kernel handed out reserved port(s) %s' % (where, format_ports(given))
            outside = ports - span
            assert not outside, '%s: the kernel handed out %s, outside the window/range' % (where, format_ports(outside))
            assert phase['end'] == phase['expected_end'], '%s: ended with %s, not %s' % (
                where, phase['end'], phase['expected_end'])
            busy = set(window['busy']['udp' if kind.startswith('udp') else 'tcp'])
            never = span - reserved - busy - ports
            assert not never, '%s: free port(s) %s were never handed out: the window was not exhausted' % (
                where, format_ports(never))
            handed |= ports
    services = exp.ports
    given = handed & services
    assert not given, '%s: service ports handed out as ephemeral ports: %s' % (target.name, format_ports(given))
    must = set(port for port in services if low <= port <= high)
    if result['mode'] == 'range':
        must |= set(port for port in services & reserved if port >= bound_low)
    unprobed = must - covered
    assert not unprobed, '%s: service ports in the range but in no exhausted window: %s' % (
        target.name, format_ports(unprobed))
    for item in exp.probe_services():
        binds = result['binds'].get(str(item['port']))
        assert binds, '%s: port %d was not bound' % (target.name, item['port'])
        for proto, outcome in sorted(binds.items()):
            assert outcome['ok'] or outcome.get('listener'), '%s: %s port %d cannot be bound: %s' % (
                target.name, proto, item['port'], outcome)


@pytest.mark.parametrize('mode', ['sockopt', 'range'])
def test_kernel_never_hands_out_a_service_port(target, mode, probe_mode, controller_netns):
    """Exhaust the ephemeral ports around every service port with real sockets, then bind each service port."""
    if probe_mode == 'off':
        pytest.skip('read-only run: the behavioural probe is opt-in (--probe sockopt|all, PORTGUARD_VERIFY_PROBE)')
    if mode == 'range':
        if probe_mode != 'all':
            pytest.skip('--probe all runs the range-narrowing variant')
        if not target.container:
            pytest.skip('%s is not a local container: its ip_local_port_range is never narrowed' % target.name)
    _state, reserved, port_range = _live(target)
    forbid = controller_netns if mode == 'range' else None
    if mode == 'range':
        mine = target.state()['netns']
        assert {'inode': mine['inode'], 'dev': mine['dev']} not in controller_netns, (
            '%s shares a network namespace with this machine: refusing to narrow its range' % target.name)
    result = target.probe(mode, forbid)
    if result['error'] and 'IP_LOCAL_PORT_RANGE is not supported' in result['error']:
        pytest.skip(result['error'])
    _judge_probe(target, result, reserved, port_range)
    if mode == 'range':
        assert result['restored'] is True
