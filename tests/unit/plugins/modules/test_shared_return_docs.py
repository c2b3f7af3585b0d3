# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The RETURN entries both modules share (the boot chain) say the same in both.

ansible-core merges doc fragments into DOCUMENTATION only, so the two modules' RETURN texts of
``boot_appliers`` and ``boot.after_boot`` are written twice; this keeps the copies equal (only
``returned`` may differ: local_ports returns the chain only when it persists).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest
import yaml

PLUGINS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins')


def return_docs(module):
    with open(os.path.join(PLUGINS, 'modules', module + '.py')) as handle:
        tree = ast.parse(handle.read())
    return yaml.safe_load([node.value.value for node in tree.body if isinstance(node, ast.Assign)
                           and getattr(node.targets[0], 'id', None) == 'RETURN'][0])


def after_boot(doc):
    return doc['boot']['contains']['after_boot']


def without_returned(entry):
    return dict((key, value) for key, value in entry.items() if key != 'returned')


@pytest.mark.parametrize('pick', [lambda doc: doc['boot_appliers'], after_boot], ids=['boot_appliers', 'after_boot'])
def test_shared_entries_are_the_same_in_both_modules(pick):
    apply_doc, info_doc = return_docs('local_ports'), return_docs('local_ports_info')
    assert without_returned(pick(apply_doc)) == without_returned(pick(info_doc))
