# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake / for the module_utils tests: the sysctl.d directories made on demand, files, links, boot order."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _boot_rules

RES = 'net.ipv4.ip_local_reserved_ports'
RNG = 'net.ipv4.ip_local_port_range'
KEYS = [RNG, RES]


class Tree(object):
    """A fake / with the four sysctl.d directories (made on demand)."""

    def __init__(self, root):
        self.root = str(root)

    def path(self, rel):
        return os.path.join(self.root, rel.lstrip('/'))

    def put(self, rel, text):
        full = self.path(rel)
        if not os.path.isdir(os.path.dirname(full)):
            os.makedirs(os.path.dirname(full))
        with open(full, 'w') as handle:
            handle.write(text)
        return full

    def link(self, rel, target):
        full = self.path(rel)
        if not os.path.isdir(os.path.dirname(full)):
            os.makedirs(os.path.dirname(full))
        os.symlink(target, full)
        return full

    def read(self, rel):
        with open(self.path(rel)) as handle:
            return handle.read()

    def boot(self, keys=None, replace=None):
        return _boot_rules.boot_config(keys or KEYS, self.root, replace=replace)

    def names(self):
        return [item['path'] for item in _boot_rules.boot_files(self.root)]


@pytest.fixture
def tree(tmp_path):
    return Tree(tmp_path)
