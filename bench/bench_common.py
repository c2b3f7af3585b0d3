# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configure the Ansible runs of every part of make bench alike: the ansible.cfg each writes and how it records its commands.

Shared by bench/run_bench.py (parts podman and ssh) and bench/part_scale.py
(part scale), so the settings the floor and the role are compared under are
written in one place.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, '.cache', 'collections')


def write_ansible_cfg(path, comment, forks, defaults=(), sections=()):
    """Write the ansible.cfg of a run at ``path``: ``comment``, then [defaults] with ``forks``, the settings every
    part shares, ``defaults`` (more lines of that section) and the collections path; then ``sections`` (lines)."""
    with open(path, 'w') as handle:
        handle.write('\n'.join([
            comment,
            '[defaults]',
            'forks = %d' % forks,
            'host_key_checking = False',
            'retry_files_enabled = False',
            'deprecation_warnings = False',
        ] + list(defaults) + [
            'collections_path = %s' % COLLECTIONS,
            '',
        ] + list(sections)))


def command_text(argv):
    """A command as results.json records it: one string, paths inside the repository relative to it."""
    return ' '.join(os.path.relpath(a, REPO) if a.startswith(REPO) else a for a in argv)
