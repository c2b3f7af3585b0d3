#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: reserved_ports_plan
short_description: Validate the reserved_ports variables of every host of the play, once, on the controller
version_added: 0.2.0
description:
  - The first step of the role M(portguard.ephemeral.reserved_ports) (C(ansible-doc -t role)), usable on its own.
  - Runs once for the play (give the task C(run_once) and C(any_errors_fatal)) and reads each host's variables
    once, as that host's own tasks see them (inventory, facts, play and role variables), that is
    C(reserved_ports_services), every C(reserved_ports_services_*), the variables matched by
    C(reserved_ports_discover), and the role's settings. It validates them and plans each host's ports the way
    M(portguard.ephemeral.reserved_ports_apply) will.
  - It does not fail for a host's problem. It returns the hosts that have one (RV(problem_hosts)) and warns once,
    naming them; registered as C(__reserved_ports_plan) (as the role does), that result makes
    M(portguard.ephemeral.reserved_ports_apply) fail each such host with its own problems and change no other host.
  - When no apply or audit step follows (C(--tags reserved_ports_validate), C(--skip-tags reserved_ports_apply))
    it fails itself, listing every problem of every host, each naming the host, the variable and the value.
  - It also checks each distinct C(reserved_ports_report) of the play once (a writable directory, C(PATH.json)
    a report or absent), as a problem of the hosts that have it.
  - With C(serial), the first batch checks the hosts of every batch, and a later batch carries the hosts it found
    over (read from the result registered on a host of an earlier batch) and checks its own hosts again. Under
    the free strategy every host runs the task; a result registered earlier in the same play and batch is reused.
  - Warns about variables that look like the role's but are not (C(reserved_ports_on_unknown_vars)), one warning
    per variable and message, naming the hosts that have it.
  - Runs on the controller only; connects to nothing; takes no options (it reads the role's variables).
    Its cost is one task for the play plus a few milliseconds of Python per host, not a task per host.
author:
  - portguard maintainers (@portguard)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - portguard.ephemeral.controller_action
attributes:
  check_mode:
    support: full
    details: Reads variables only; the same result in check mode.
options: {}
notes:
  - Without C(run_once) the task fails and says so (every host would check the whole play).
  - Register the result as C(__reserved_ports_plan), as the role does, so that the apply step sees it.
seealso:
  - module: portguard.ephemeral.reserved_ports_apply
  - module: portguard.ephemeral.reserved_ports_report
'''

EXAMPLES = r'''
- name: Validate every host of the play (the apply step then fails the hosts with problems)
  portguard.ephemeral.reserved_ports_plan:
  run_once: true
  register: __reserved_ports_plan
'''

RETURN = r'''
hosts:
  description: How many hosts were checked.
  returned: always
  type: int
  sample: 1000
problem_hosts:
  description: The hosts with a problem, in play order (in a later C(serial) batch, those the first batch found too).
  returned: always
  type: list
  elements: str
  sample: [db1]
report_problems:
  description: For each C(reserved_ports_report) value that cannot be written, why (the apply step takes them from here).
  returned: always
  type: dict
scope:
  description: The play run and C(serial) batch this result belongs to (C(play), C(batch)); the apply step ignores a result of another play.
  returned: always
  type: dict
msg:
  description:
    - With problems, the hosts that have them; validation only, every problem found, one per line, each naming the
      host, the variable and the value.
  returned: when a host has a problem
  type: str
'''
