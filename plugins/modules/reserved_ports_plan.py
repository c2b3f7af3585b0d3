#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: reserved_ports_plan
short_description: Validate a host's reserved_ports variables and plan its ports, on the controller
version_added: 0.2.0
description:
  - The first step of the role M(portguard.ephemeral.reserved_ports) (C(ansible-doc -t role)), usable on its own.
  - Reads the host's own variables once - C(reserved_ports_services), every C(reserved_ports_services_*),
    the variables matched by C(reserved_ports_discover), and the role's settings - validates them, and returns
    the ports to reserve, the range to set, and the arguments of M(portguard.ephemeral.local_ports).
  - Fails listing every problem of the host, each naming the variable and the value. With C(serial), the first
    host of the first batch also checks the hosts of the later batches (from C(hostvars), once per play).
  - Warns once per host about variables that look like the role's but are not (C(reserved_ports_on_unknown_vars)).
  - Runs on the controller only; connects to nothing; takes no options (it reads the role's variables).
author:
  - portguard maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Reads variables only; the same result in check mode.
  connection:
    support: none
  delegation:
    support: none
  diff_mode:
    support: none
  platform:
    platforms: all
options: {}
notes:
  - Use with C(any_errors_fatal) so that one host's problem stops every host before any is changed, as the role does.
seealso:
  - module: portguard.ephemeral.reserved_ports_apply
  - module: portguard.ephemeral.reserved_ports_report
'''

EXAMPLES = r'''
- name: Plan this host's ports (stops the play on any problem)
  portguard.ephemeral.reserved_ports_plan:
  any_errors_fatal: true
  register: __reserved_ports_plan
'''

RETURN = r'''
strategy:
  description: The strategy, C(reserve), C(move_range) or C(both).
  returned: success
  type: str
services:
  description: Every service of the host (declared and discovered), with its ports in canonical form and its sources.
  returned: success
  type: list
  elements: dict
ports:
  description: Every service port, canonical runs (integers and C("LOW-HIGH") strings).
  returned: success
  type: list
  elements: raw
reserved:
  description: The ports to reserve (empty for C(move_range)).
  returned: success
  type: list
  elements: raw
range:
  description: The ephemeral range to set, C([LOW, HIGH]), or V(null) to keep the host's.
  returned: success
  type: list
  elements: int
discover_skipped:
  description: Discovered variables that were not taken, with the reason.
  returned: success
  type: list
  elements: str
settings:
  description: The role's settings for this host, validated and normalised.
  returned: success
  type: dict
module_args:
  description: The arguments of M(portguard.ephemeral.local_ports) that apply this plan.
  returned: success
  type: dict
msg:
  description: Every problem found, one per line, each naming the host, the variable and the value.
  returned: failure
  type: str
'''
