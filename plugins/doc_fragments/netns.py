# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netns option, as local_ports and local_ports_info document it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  netns:
    description:
      - Path of a network namespace to work in instead of the one the task runs in, such as C(/run/netns/NAME) or
        C(/proc/PID/ns/net), for services that run in their own namespace (containers, pods).
      - The module enters it (needs root) and verifies that it really did before reading or writing anything.
      - The sysctl.d files configure the namespace the host boots with, not this one. So with O(netns)
        M(portguard.ephemeral.local_ports) works live only, and M(portguard.ephemeral.local_ports_info) lists the
        files but compares no boot values (C(drift.detected) and the per-port C(reserved_boot) are V(null)).
      - An empty string is refused (omit the option for the namespace the task runs in).
    type: path
'''
