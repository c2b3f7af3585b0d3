# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-core's own argument check of the role never fails first: the role's check owns every message.

ansible-core runs the role's meta/argument_specs.yml as a task before the role's first task and, on a
type or choices error, stops the host with a result that carries the whole option table (7 KB on one
line).  The role's plan step validates every variable better (host, variable, value, fix), so the spec
declares every variable with type raw and no choices; the documented choices are tested equal to the
code's in test__role_vars.py.  This runs ansible-core's validator of each tested release (ansible-test
units runs it on 2.16 to 2.21) on wrong values of every kind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'reserved_ports')
WRONG = [None, '', 'move-range', 5, -1, 1.5, True, 'maybe', [], [1, 'x'], {}, {'name': 'web', 'port': 8080},
         [{'name': 'web', 'port': 'x'}], '1024 80']


def _options():
    with open(os.path.join(ROLE, 'meta', 'argument_specs.yml')) as handle:
        return yaml.safe_load(handle)['argument_specs']['main']['options']


def test_every_variable_is_declared_raw_without_choices():
    for name, spec in _options().items():
        assert spec.get('type') == 'raw', name
        assert not set(spec) & set(['choices', 'elements', 'required', 'options']), name


@pytest.mark.parametrize('value', WRONG, ids=[repr(value) for value in WRONG])
def test_ansible_cores_argument_check_accepts_any_value(value):
    spec = _options()
    result = ArgumentSpecValidator(spec).validate(dict((name, value) for name in spec))
    assert result.error_messages == []
