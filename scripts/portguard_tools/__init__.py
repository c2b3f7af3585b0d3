# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side tools of the portguard.ephemeral checkout (not shipped in the collection).

playbook    the argv and environment of ansible-playbook (and ansible) runs: scripts, tests, bench
netns_lab   throw-away targets: a private network namespace with its own sysctl.d tree (make demo, tests)

Scripts put scripts/ on sys.path and import ``portguard_tools.<module>``.
"""
