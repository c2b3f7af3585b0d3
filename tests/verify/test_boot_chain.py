# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot chain local_ports_info detects (boot_appliers), and its after-boot values against the kernel.

Two inventory variables (verifylib) turn the checks on for a host (deselected where unset: nothing checked is not a pass):
``portguard_verify_boot_appliers`` (the names, in order, e.g. [systemd-sysctl, tuned])
and ``portguard_verify_after_boot: true`` (the host has just booted, so what the
kernel holds is what the whole chain left: it must be what the module predicts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from verifylib import AFTER_BOOT_VAR, BOOT_APPLIERS_VAR, RANGE_KEY, RESERVED_KEY, kernel_ports, kernel_range

pytestmark = pytest.mark.expect('applied')


@pytest.mark.host_var(BOOT_APPLIERS_VAR)
def test_boot_appliers(target):
    expected = target.vars[BOOT_APPLIERS_VAR]
    appliers = target.info()['boot_appliers']
    assert [item['name'] for item in appliers] == list(expected), '%s: boot chain %s' % (target.name, appliers)
    assert all(item['modelled'] for item in appliers), appliers


@pytest.mark.host_var(AFTER_BOOT_VAR)
def test_after_boot_is_what_the_kernel_holds(target):
    live = target.state()['live']
    boot = target.info()['boot']
    predicted = boot[RESERVED_KEY]['after_boot']
    assert kernel_ports((predicted['value'] or '') + '\n') == kernel_ports(live['reserved']), (
        '%s: after boot the kernel reserves %s; the modules predicted %s'
        % (target.name, live['reserved'].strip(), predicted))
    predicted = boot[RANGE_KEY]['after_boot']
    assert kernel_range(predicted['value']) == kernel_range(live['range']), (
        '%s: after boot the range is %s; the modules predicted %s' % (target.name, live['range'].strip(), predicted))
