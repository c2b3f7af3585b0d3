# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Opt-in: listeners inside the ephemeral range that nobody declared (--undeclared-listeners fail).

The role protects the ports the inventory declares; this check finds the
others - a service someone started inside the range without telling the
inventory, whose port an outgoing connection can take while it is stopped.
See conftest.py for the option and portguard_verify_listeners_allowed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from verifylib import (
    LISTENERS_ALLOWED_VAR,
    allowed_listeners,
    is_template,
    kernel_ports,
    undeclared_listeners,
)

pytestmark = pytest.mark.undeclared_listeners


def _describe(item):
    names = ', '.join('%s (pid %d)' % (proc['comm'], proc['pid']) for proc in item['processes']) or 'no process found'
    return '%s %s by %s' % (item['protocol'], item['local'], names)


def test_no_undeclared_listeners_in_range(target):
    exp = target.expected
    if exp.netns:
        pytest.skip('reserved_ports_netns=%s: the probe reads the host namespace, not that one' % exp.netns)
    allowed = target.vars.get(LISTENERS_ALLOWED_VAR)
    if is_template(allowed):
        allowed = target.resolve(LISTENERS_ALLOWED_VAR, allowed)
    allowed_ports, allowed_names = allowed_listeners(allowed)
    data = target.listeners()
    found = undeclared_listeners(data['listeners'], kernel_ports(data['reserved']), exp.ports,
                                 allowed_ports, allowed_names)
    low, high = data['range']
    assert not found, (
        '%s: listening inside the ephemeral range %d-%d on ports neither reserved nor declared: %s. Declare them '
        '(reserved_ports_services*), or allow known ones with %s (ports or command names)'
        % (target.name, low, high, '; '.join(_describe(item) for item in found), LISTENERS_ALLOWED_VAR))
