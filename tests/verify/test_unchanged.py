# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hosts the role must have left alone (check mode, refused input): compare with the baseline snapshot.

The baseline is probes/state.py's output taken before the role ran
(molecule/shared/baseline.yml writes it to --baseline DIR/<host>.json).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from verifylib import kernel_ports

pytestmark = pytest.mark.expect('unchanged')


@pytest.fixture
def baseline(target, baseline_dir):
    if not baseline_dir:
        pytest.fail('%s is expected unchanged (portguard_verify_expect), but no --baseline directory was given'
                    % target.name)
    path = os.path.join(baseline_dir, target.name + '.json')
    assert os.path.exists(path), 'no baseline snapshot %s for %s' % (path, target.name)
    with open(path) as handle:
        return json.load(handle)


def test_same_namespace_as_the_baseline(target, baseline):
    assert target.state()['netns'] == baseline['netns'], 'the container was restarted: the comparison would be empty'


def test_live_values_unchanged(target, baseline):
    now = target.state()['live']
    assert now['reserved'] == baseline['live']['reserved'], 'ip_local_reserved_ports changed'
    assert now['range'] == baseline['live']['range'], 'ip_local_port_range changed'


def test_sysctl_files_unchanged(target, baseline):
    now = target.state()
    changed = sorted(path for path in set(now['files']) | set(baseline['files'])
                     if now['files'].get(path) != baseline['files'].get(path))
    assert not changed, 'files changed: %s' % ', '.join(
        '%s: %s -> %s' % (path, baseline['files'].get(path), now['files'].get(path)) for path in changed)
    assert now['texts'] == baseline['texts']


def test_baseline_lacked_the_service_ports(target, baseline):
    """Otherwise "unchanged" proves nothing: the role had work to do and did not do it."""
    try:
        ports = target.expected.ports
    except ValueError as exc:
        # The host's own declarations are malformed: that is why nothing may change
        # on it, and the file and live checks above prove nothing did.
        assert str(exc), 'the inventory of %s does not parse, but says nothing about why' % target.name
        return
    missing = ports - kernel_ports(baseline['live']['reserved'])
    assert missing, 'every service port of %s was reserved before the run' % target.name
