# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role next to kubespray and an admin's /etc/sysctl.conf line (molecule/coexist).

The scenario records each step (--coexist DIR: DIR/<step>/<host>.json, written by
molecule/coexist/tasks/record.yml): the live values read from /proc/sys inside the
container (probes/state.py), local_ports_info (boot winner, drift, per-port verdict)
and what each tool reported.  Steps, in order:

  neighbours       kubespray's NodePort task twice, then an admin's line applied with `sysctl -p`
  refused          the role refused (asserted in molecule/coexist/neighbours.yml); the admin then
                   moved the line to portguard_coexist_admin_file
  role             after the role's converge and idempotence
  kubespray-rerun  kubespray once more
  audit            after `ansible-playbook --tags reserved_ports_audit` (its result: audit/<host>.audit.json)
  role-rerun       the role once more
  alternation      kubespray, kubespray, role, role
  owners           a second owner (billing, a module task) twice, the role twice, kubespray, the role

The state after the container's restart is read live, as the other checks do.
Expected ports come from the inventory: the role's services, and the scenario's
portguard_coexist_nodeport_range, portguard_coexist_admin_ports, portguard_coexist_kubespray_file,
portguard_coexist_admin_file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from verifylib import RESERVED_KEY, format_ports, kernel_ports

pytestmark = pytest.mark.expect('applied')

STEPS = ('neighbours', 'refused', 'role', 'kubespray-rerun', 'audit', 'role-rerun', 'alternation', 'owners')
SYSCTL_CONF = '/etc/sysctl.conf'
DEBIAN_LINK = '/etc/sysctl.d/99-sysctl.conf'
EXPOSED = 'in the ephemeral range and not reserved'
# The module's lock and ownership records (probes/state.py lists them too), not sysctl files.
RUN_STATE_DIR = '/run/portguard-ephemeral'


class Neighbours(object):
    """The scenario's other owners of the key, from the inventory."""

    def __init__(self, target):
        get = target.vars.get
        missing = [var for var in ('portguard_coexist_nodeport_range', 'portguard_coexist_admin_ports',
                                   'portguard_coexist_kubespray_file', 'portguard_coexist_admin_file',
                                   'portguard_coexist_billing_ports')
                   if var not in target.vars]
        if missing:
            pytest.skip('%s is not a coexist host (no %s)' % (target.name, ', '.join(missing)))
        self.nodeports = kernel_ports(str(get('portguard_coexist_nodeport_range')))
        self.admin = kernel_ports(str(get('portguard_coexist_admin_ports')))
        self.kubespray_file = get('portguard_coexist_kubespray_file')
        self.admin_file = get('portguard_coexist_admin_file')
        self.billing = frozenset(int(port) for port in get('portguard_coexist_billing_ports'))


@pytest.fixture
def coexist_steps(target, coexist_dir):
    if not coexist_dir:
        pytest.skip('no --coexist given (PORTGUARD_VERIFY_COEXIST)')
    steps = {}
    for step in STEPS:
        path = os.path.join(coexist_dir, step, '%s.json' % target.name)
        assert os.path.isfile(path), '%s: step %s was not recorded (%s)' % (target.name, step, path)
        with open(path) as handle:
            steps[step] = json.load(handle)
    return steps


@pytest.fixture
def neighbours(target):
    return Neighbours(target)


def _live(record):
    return kernel_ports(record['state']['live']['reserved'])


def _boot(record):
    return record['info']['boot'][RESERVED_KEY]


def _admin_read_at_boot(record):
    """Debian 12 links 99-sysctl.conf to /etc/sysctl.conf; Debian 13 ships neither."""
    link = record['state']['files'].get(DEBIAN_LINK) or {}
    return link.get('type') == 'link' and os.path.normpath(
        os.path.join(os.path.dirname(DEBIAN_LINK), link['target'])) == SYSCTL_CONF


def _runs(record):
    return [(run['tool'], run['changed']) for run in record['runs']]


def _check_role_won(target, record, want, step):
    live = _live(record)
    assert live == want, '%s, step %s: live %s, expected %s' % (target.name, step, format_ports(live), format_ports(want))
    boot = _boot(record)
    assert boot['file'] == target.expected.path, '%s, step %s: at boot the reserved ports come from %s' % (
        target.name, step, boot['file'])
    assert kernel_ports(boot['value']) == want, '%s, step %s: boot value %s, expected %s' % (
        target.name, step, boot['value'], format_ports(want))
    assert record['info']['drift']['detected'] is False, '%s, step %s: drift %s' % (
        target.name, step, record['info']['drift'])
    risky = ['%d: %s' % (entry['port'], entry['reason']) for entry in record['info']['ports'] if entry['at_risk']]
    assert not risky, '%s, step %s: service ports at risk: %s' % (target.name, step, risky)


def test_neighbours_without_the_role(target, coexist_steps, neighbours):
    """Every writer replaces the whole value: the admin's `sysctl -p` drops kubespray's range live,
    and at boot the file whose name sorts last wins alone."""
    record = coexist_steps['neighbours']
    assert _runs(record) == [('kubespray', True), ('kubespray', False)], record['runs']
    assert _live(record) == neighbours.admin, '%s: live %s after the admin\'s sysctl -p' % (
        target.name, record['state']['live']['reserved'])
    boot = _boot(record)
    if _admin_read_at_boot(record):
        # 99-sysctl.conf (-> /etc/sysctl.conf) sorts after 99-kubernetes-cri.conf: the NodePort
        # range is not reserved at boot at all.
        assert (boot['file'], boot['via']) == (DEBIAN_LINK, SYSCTL_CONF), boot
        assert kernel_ports(boot['value']) == neighbours.admin, boot
        assert boot['procps_override'] is None, boot
    else:
        # systemd-sysctl never reads /etc/sysctl.conf: only kubespray's file counts at boot,
        # while procps `sysctl --system` would apply the admin's line last.
        assert boot['file'] == neighbours.kubespray_file, boot
        assert kernel_ports(boot['value']) == neighbours.nodeports, boot
        assert boot['procps_override']['file'] == SYSCTL_CONF, boot
        assert kernel_ports(boot['procps_override']['value']) == neighbours.admin, boot


def test_the_role_refused_and_changed_nothing(target, coexist_steps):
    """With the key in /etc/sysctl.conf, which procps `sysctl --system` applies after every sysctl.d
    file, the role refuses (on_override: fail; the message is asserted in neighbours.yml)."""
    before, after = coexist_steps['neighbours'], coexist_steps['refused']
    assert after['state']['live'] == before['state']['live'], 'the refused run changed the live values'
    changed = sorted(path for path in set(before['state']['files']) | set(after['state']['files'])
                     if not path.startswith(RUN_STATE_DIR)
                     and before['state']['files'].get(path) != after['state']['files'].get(path))
    assert not changed, '%s: the refused run changed %s' % (target.name, changed)
    assert after['state']['files'].get(target.expected.path) is None, '%s: the role wrote its file' % target.name


def test_after_the_role_live_and_boot_carry_every_reservation(target, coexist_steps, neighbours):
    """Mode merge keeps what is reserved live and what other sysctl files declare (kubespray's range,
    the admin's file), live and in the role's file, which wins at boot."""
    record = coexist_steps['role']
    assert record['state']['files'].get(neighbours.admin_file, {}).get('type') == 'file', (
        '%s: %s is missing' % (target.name, neighbours.admin_file))
    want = target.expected.ports | neighbours.nodeports | neighbours.admin
    _check_role_won(target, record, want, 'role')


def test_kubespray_rerun_sets_exactly_its_range(target, coexist_steps, neighbours):
    record = coexist_steps['kubespray-rerun']
    assert _runs(record) == [('kubespray', True)], record['runs']
    assert _live(record) == neighbours.nodeports, '%s: live %s after kubespray ran again' % (
        target.name, record['state']['live']['reserved'])
    lost = target.expected.ports & _live(record)
    assert not lost, lost


def test_audit_reports_the_drift_and_the_ports_at_risk(target, coexist_steps, coexist_dir, neighbours):
    """`--tags reserved_ports_audit` runs local_ports_info: the drift names every lost port, and every
    service port in the range is at risk. It changes nothing."""
    before, after = coexist_steps['kubespray-rerun'], coexist_steps['audit']
    with open(os.path.join(coexist_dir, 'audit', '%s.audit.json' % target.name)) as handle:
        audit = json.load(handle)
    with open(os.path.join(coexist_dir, 'audit', 'ansible-playbook.log')) as handle:
        log = handle.read()
    assert 'Audit the service ports' in log and 'Reserve the service ports' not in log, log
    assert audit['changed'] is False
    drift = audit['drift']
    assert drift['detected'] is True and drift['range'] is None, drift
    lost = target.expected.ports | neighbours.admin
    assert kernel_ports(drift['reserved']['missing']['canonical']) == lost, '%s: drift names %s missing, expected %s' % (
        target.name, drift['reserved']['missing']['canonical'], format_ports(lost))
    assert drift['reserved']['missing']['count'] == len(lost)
    assert drift['reserved']['extra']['canonical'] == '' and drift['reserved']['extra']['count'] == 0, drift
    assert kernel_ports(_boot({'info': audit})['value']) == lost | neighbours.nodeports
    verdicts = dict((entry['port'], entry) for entry in audit['ports'])
    assert set(verdicts) == target.expected.ports
    for port, entry in sorted(verdicts.items()):
        assert (entry['at_risk'], entry['reason'], entry['reserved_live'], entry['reserved_boot']) == (
            True, EXPOSED, False, True), '%s: port %d: %s' % (target.name, port, entry)
    assert after['state']['live'] == before['state']['live'], 'the audit changed the live values'
    assert after['state']['files'] == before['state']['files'], 'the audit changed a sysctl file'


def test_role_rerun_restores_every_reservation(target, coexist_steps, neighbours):
    """The role restores its ports, and the others' that their files declare: live only, its file
    already held them."""
    record = coexist_steps['role-rerun']
    (run,) = record['runs']
    assert (run['tool'], run['changed'], run['live_changed'], run['file_changed']) == (
        'portguard', True, True, False), run
    want = target.expected.ports | neighbours.nodeports | neighbours.admin
    _check_role_won(target, record, want, 'role-rerun')


def test_alternating_runs_report_changed_each_time(target, coexist_steps):
    """kubespray then the role: each reports `changed` after the other ran, neither on its own rerun."""
    record = coexist_steps['alternation']
    assert _runs(record) == [('kubespray', True), ('kubespray', False), ('portguard', True), ('portguard', False)], (
        record['runs'])
    assert [run['file_changed'] for run in record['runs'] if run['tool'] == 'portguard'] == [False, False]


def test_two_owners_and_a_whole_key_writer_never_undo_each_other(target, coexist_steps, neighbours):
    """The role and a module task with owner billing: each rerun changes nothing, neither releases the
    other's port, and after kubespray overwrote the key the role restores every owner's ports."""
    record = coexist_steps['owners']
    assert _runs(record) == [('billing', True), ('billing', False), ('portguard', False), ('portguard', False),
                             ('kubespray', True), ('portguard', True)], record['runs']
    # Quiet side by side; after kubespray's whole-key write the role says it reserves the declared ports again.
    assert not [run for run in record['runs'][:4] if run.get('warnings')], record['runs']
    billing = record['runs'][0]
    assert set(billing['owners']) == set(['reserved_ports', 'billing']), billing
    want = target.expected.ports | neighbours.nodeports | neighbours.admin | neighbours.billing
    _check_role_won(target, record, want, 'owners')
    owners = record['info']['owners']
    assert kernel_ports(owners['billing']['canonical']) == neighbours.billing, owners
    assert kernel_ports(owners['reserved_ports']['canonical']) == target.expected.ports, owners


def test_after_restart_every_reservation_is_back(target, coexist_steps, neighbours):
    """The restart (molecule/shared/restart.yml) scrambles the live value first: what is there now
    came from systemd-sysctl at boot, from the role's file: every owner's ports and the others' files'."""
    want = target.expected.ports | neighbours.nodeports | neighbours.admin | neighbours.billing
    state = target.refresh()
    live = kernel_ports(state['live']['reserved'])
    assert live == want, '%s: after the restart %s, expected %s' % (target.name, format_ports(live), format_ports(want))
    assert state['systemd']['running'], '%s: systemd is not PID 1' % target.name
