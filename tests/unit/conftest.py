# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.portguard.ephemeral`` importable for plain pytest.

Under ``ansible-test units`` the collection already sits at
``.../ansible_collections/portguard/ephemeral`` and ansible-test puts the
directory above ``ansible_collections`` on the path: nothing to do.

From a plain checkout (``.venv/bin/pytest tests/unit``) the repository root is
the collection root, so this file makes sure the link
``.cache/collections/ansible_collections/portguard/ephemeral -> <repo root>``
exists (the same one scripts/collection-tree.sh creates) and puts
``.cache/collections`` first on ``sys.path``.  ``ansible_collections`` is a
namespace package (the ``ansible`` package ships one too), so both locations
are searched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

NAMESPACE = 'portguard'
NAME = 'ephemeral'


def _collection_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _ensure_importable():
    root = _collection_root()
    if root.split(os.sep)[-3:] == ['ansible_collections', NAMESPACE, NAME]:
        # A real collection tree: ansible-test (or an installed copy) has set the path up.
        return
    base = os.path.join(root, '.cache', 'collections')
    parent = os.path.join(base, 'ansible_collections', NAMESPACE)
    link = os.path.join(parent, NAME)
    if not os.path.isdir(parent):
        os.makedirs(parent)
    if not os.path.lexists(link):
        os.symlink(root, link)
    elif os.path.realpath(link) != os.path.realpath(root):
        raise RuntimeError('%s points to %s, not to this checkout (%s); remove it or run '
                           'scripts/collection-tree.sh' % (link, os.path.realpath(link), root))
    if base not in sys.path:
        sys.path.insert(0, base)


_ensure_importable()
