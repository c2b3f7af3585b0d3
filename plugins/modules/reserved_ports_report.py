#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: reserved_ports_report
short_description: Update the reserved_ports fleet report on the controller, or merge reports of several controllers
version_added: 0.2.0
description:
  - The last step of the role M(portguard.ephemeral.reserved_ports) (C(ansible-doc -t role)); run it with
    C(run_once) (the role runs it in the C(always) section of its block, so a run in which every host failed
    still records why).
  - Reads what each host of this task's batch registered (C(__reserved_ports_applied) or C(__reserved_ports_audit))
    once, and the hosts that left the play (failed or unreachable), and updates the report of each host's
    C(reserved_ports_report) (O(path) for a host without a result), C(PATH.json) and C(PATH.md), the fleet's
    current state. The entries of the hosts this run reached are replaced; every other host's are kept, so
    C(--limit) runs and C(serial) batches add up. A host of the play that no run has reached yet is C(not_run).
  - Every host has a verdict (C(protected), C(at_risk) with the count of ports and why, C(failed) with the error,
    C(unreachable), C(not_run)) and its last run (UTC time, mode C(apply), C(audit) or C(preview), outcome, part).
    Both files start with the counts of each verdict, then the hosts needing attention, then every host, then
    the rows by host and port. The JSON follows the schema shipped as C(docs/report.schema.json); in the Markdown
    every text from inventory or hosts is a code span, so it never becomes a link, an image, HTML or markup.
  - Runs at the same time on one controller wait for each other on an exclusive lock on C(PATH.lock); each file is
    replaced atomically. C(changed) means a host's state in the report changed, not only the times.
  - In check mode it writes C(PATH.preview.json) and C(PATH.preview.md) (the report with this run's hosts as they
    would be, C(check_mode) true, and what would change) and leaves the report alone.
  - When no host ran M(portguard.ephemeral.local_ports) or M(portguard.ephemeral.local_ports_info) in this run
    (C(--skip-tags reserved_ports_apply)), or none has a report path, it is skipped and leaves the report as it was.
  - With O(merge), it combines the JSON reports of several controllers (AWX/AAP job slices) and the report at
    O(path) into O(path); each host keeps its latest entry. The playbook C(portguard.ephemeral.report_merge)
    does this for a workflow's last node. A report written by 0.2 (schema 2) is carried over.
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
        runs in. The report of the hosts whose result names none (they left the play before the apply step).
      - Empty with no O(merge) leaves only the hosts' own report paths.
    type: str
    required: true
  part:
    description:
      - A name for this run, recorded as C(last_run.part) of each host it reached. Empty records C(--limit), or C(all).
    type: str
    default: ""
  merge:
    description:
      - JSON reports (paths or glob patterns) to merge into O(path) instead of reading the play's hosts; O(path)
        must then be set.
    type: list
    elements: str
'''

EXAMPLES = r'''
- name: Update the fleet report (as the role does)
  portguard.ephemeral.reserved_ports_report:
    path: reports/ports
  run_once: true

- name: Merge the reports of three job slices into the fleet report
  portguard.ephemeral.reserved_ports_report:
    path: reports/fleet
    merge: [reports/slice-*.json]
  run_once: true
'''

RETURN = r'''
json:
  description: The JSON file written, of the first report (sorted by path).
  returned: success
  type: str
markdown:
  description: The Markdown file written, of the first report.
  returned: success
  type: str
preview:
  description: Whether these are check mode's preview files.
  returned: success
  type: bool
hosts:
  description: Number of hosts in the first report.
  returned: success
  type: int
rows:
  description: Number of rows (service ports) in the first report.
  returned: success
  type: int
counts:
  description:
    - How many hosts of the first report have each verdict (C(protected), C(at_risk), C(failed), C(unreachable),
      C(not_run)).
  returned: success
  type: dict
  sample: {protected: 40, at_risk: 1, failed: 1, unreachable: 0, not_run: 0}
reports:
  description:
    - Every report written (one per distinct C(reserved_ports_report) of the hosts), each with C(json), C(markdown),
      C(changed), C(hosts), C(rows) and C(counts).
  returned: success
  type: list
  elements: dict
'''
