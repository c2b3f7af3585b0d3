#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: reserved_ports_report
short_description: Write the reserved_ports fleet report on the controller, or merge the reports of several parts
version_added: 0.2.0
description:
  - The last step of the role M(portguard.ephemeral.reserved_ports) (C(ansible-doc -t role)); run it with
    C(run_once).
  - Reads what each host of the play registered (C(__reserved_ports_plan), C(__reserved_ports_applied) or
    C(__reserved_ports_audit)) once, and writes O(path)C(.json) and O(path)C(.md) on the controller. With
    C(serial) each batch reads only its own hosts; the play's other hosts keep their entries from the report
    as it stands (the earlier batches of this run, or the last run for the batches still to come), or are
    listed as C(not run) when it has none, so a rerun that changes nothing rewrites nothing.
  - The same results give byte-identical files, whether they came from an apply or an audit; a file is
    rewritten only when its content changes, so C(changed) means the report changed.
  - In check mode it writes O(path)C(.preview.json) and O(path)C(.preview.md) and leaves the report alone.
  - When no host ran M(portguard.ephemeral.local_ports) or M(portguard.ephemeral.local_ports_info) in this run
    (C(--skip-tags reserved_ports_apply)), it is skipped and leaves the report as it was.
  - With O(merge), it reads the JSON reports of several parts (C(serial) batches written to different paths,
    C(--limit) runs, AWX/AAP job slices) and writes one fleet report of them; a host in two parts is an error.
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
    details: Writes the preview files only.
options:
  path:
    description:
      - The report's path on the controller, without extension; relative to the directory C(ansible-playbook)
        runs in.
    type: str
    required: true
  part:
    description:
      - The name of this part in the report. Empty names it after C(--limit), or C(all).
    type: str
    default: ""
  merge:
    description:
      - JSON reports (paths or glob patterns) to merge into O(path) instead of reading the play's hosts.
    type: list
    elements: str
'''

EXAMPLES = r'''
- name: Write the fleet report (as the role does)
  portguard.ephemeral.reserved_ports_report:
    path: reports/ports
  run_once: true

- name: Merge the reports of three job slices into one fleet report
  portguard.ephemeral.reserved_ports_report:
    path: reports/fleet
    merge: [reports/slice-*.json]
  run_once: true
'''

RETURN = r'''
json:
  description: The JSON file written (or left as it was).
  returned: success
  type: str
markdown:
  description: The Markdown file written (or left as it was).
  returned: success
  type: str
preview:
  description: Whether these are check mode's preview files.
  returned: success
  type: bool
hosts:
  description: Number of hosts in the report.
  returned: success
  type: int
rows:
  description: Number of rows (service ports) in the report.
  returned: success
  type: int
'''
