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
  - Fails listing every problem of every host, each naming the host, the variable and the value. With C(serial),
    the first batch checks the hosts of every batch; a later batch checks its own hosts again.
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
  - Use with C(any_errors_fatal) so that one host's problem stops every host before any is changed, as the role does.
seealso:
  - module: portguard.ephemeral.reserved_ports_apply
  - module: portguard.ephemeral.reserved_ports_report
'''

EXAMPLES = r'''
- name: Validate every host of the play (stops the play on any problem)
  portguard.ephemeral.reserved_ports_plan:
  run_once: true
  any_errors_fatal: true
'''

RETURN = r'''
hosts:
  description: How many hosts were checked.
  returned: always
  type: int
  sample: 1000
msg:
  description: Every problem found, one per line, each naming the host, the variable and the value.
  returned: failure
  type: str
'''
