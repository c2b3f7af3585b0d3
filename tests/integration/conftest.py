# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nslab  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def lab():
    """A private network namespace with its own sysctl.d tree, removed afterwards."""
    with nslab.Lab() as instance:
        yield instance


@pytest.fixture(scope='session')
def playbooks():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'playbooks')
