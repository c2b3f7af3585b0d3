#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: reserved_ports_apply
short_description: Plan one host's ports from its role variables and apply (or audit) them in one module round trip
version_added: 0.2.0
description:
  - The second step of the role M(portguard.ephemeral.reserved_ports) (C(ansible-doc -t role)).
  - Plans this host's ports on the controller from its own variables (the same validation as
    M(portguard.ephemeral.reserved_ports_plan), which the role runs first for every host), then runs
    M(portguard.ephemeral.local_ports) with the plan's arguments, which also examines the service ports, and
    returns its result and the plan (RV(plan)).
  - A host whose variables have a problem fails with its own problems (each naming the host, the variable and the
    value) and is not changed. When the play registered the result of M(portguard.ephemeral.reserved_ports_plan) as
    C(__reserved_ports_plan) (as the role does) and another host has a problem, this host changes nothing and is
    skipped, naming those hosts (RV(blocked_by)).
  - When the module fails on the host, the message names the role variable behind the option (for example
    C(reserved_ports_netns) for a namespace that does not exist). When the host cannot be reached, the result is
    unreachable and still carries the plan, so the fleet report lists its ports.
  - With O(audit=true) runs M(portguard.ephemeral.local_ports_info) on the service ports instead (read-only).
  - Service ports held right now by a socket that is not their listener are added to the warnings, or fail the
    host when the plan's C(reserved_ports_on_held) is C(fail).
author:
  - portguard maintainers (@portguard)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Passed on to the module, which reports what it would change.
  diff_mode:
    support: full
    details: Passed on to M(portguard.ephemeral.local_ports).
  platform:
    platforms: linux
options:
  audit:
    description:
      - Examine the service ports with M(portguard.ephemeral.local_ports_info) and change nothing.
    type: bool
    default: false
seealso:
  - module: portguard.ephemeral.reserved_ports_plan
  - module: portguard.ephemeral.local_ports
  - module: portguard.ephemeral.local_ports_info
'''

EXAMPLES = r'''
- name: Reserve the service ports and set the ephemeral range
  portguard.ephemeral.reserved_ports_apply:
  register: __reserved_ports_applied
'''

RETURN = r'''
changed:
  description: Whether the live values or the persisted file changed (always V(false) with O(audit=true)).
  returned: always
  type: bool
ports:
  description: The service ports as M(portguard.ephemeral.local_ports_info) reports them (see its RV(ports)).
  returned: success
  type: list
  elements: dict
plan:
  description:
    - What the role planned for this host, which the fleet report reads.
    - Keys C(strategy), C(services) (every service, declared and discovered, with its ports and sources),
      C(ports) and C(reserved) (canonical runs), C(range) (C([LOW, HIGH]) or V(null) to keep the host's),
      C(discover_skipped), C(settings) (the role's settings, validated), C(module_args).
  returned: when the host's variables are valid
  type: dict
blocked_by:
  description:
    - The other hosts whose problems kept this one unchanged (the task is then skipped), in play order; the first five
      of them when there are more (RV(blocked_by_count) says how many; the play-wide check's
      RV(portguard.ephemeral.reserved_ports_plan#module:problem_hosts) lists them all).
  returned: when another host has a problem
  type: list
  elements: str
blocked_by_count:
  description: How many other hosts have problems that kept this one unchanged.
  returned: when another host has a problem
  type: int
  version_added: 0.3.0
report:
  description: This host's C(reserved_ports_report), which decides the fleet report it goes to.
  returned: when the host's variables are valid
  type: str
'''
