# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The old option names still work, under their new names, and warn that they are deprecated."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common import arg_spec

from ansible_collections.portguard.ephemeral.plugins.modules import local_ports, local_ports_info

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19
    from unittest import mock

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode()):
            yield


def _main(module, args, monkeypatch, capsys):
    """Run the module's main() with ``args``; return (params impl.run got, deprecation messages)."""
    seen = {}
    deprecations = []

    def run(params, **_kwargs):
        seen.update(params)
        return {'changed': False, 'warnings': []}

    def deprecate(msg, *args, **kwargs):
        deprecations.append((msg, kwargs.get('version', args[0] if args else None)))

    monkeypatch.setattr(module.impl, 'run', run)
    # AnsibleModule reports a deprecated alias through this function (on the controller it goes to Display).
    monkeypatch.setattr(arg_spec, 'deprecate', deprecate)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    assert json.loads(capsys.readouterr().out)['changed'] is False
    return seen, deprecations


def _deprecated(deprecations, name):
    return [msg for msg, version in deprecations if "'%s'" % name in msg and version == '1.0.0']


def test_local_ports_info_ports_is_examine(monkeypatch, capsys):
    params, deprecations = _main(local_ports_info, {'ports': [8080]}, monkeypatch, capsys)
    assert params['examine'] == [8080]
    assert _deprecated(deprecations, 'ports'), deprecations


def test_local_ports_min_ephemeral_ports_is_min_ephemeral(monkeypatch, capsys):
    params, deprecations = _main(local_ports, {'reserved': [8080], 'min_ephemeral_ports': 100}, monkeypatch, capsys)
    assert params['min_ephemeral'] == 100
    assert _deprecated(deprecations, 'min_ephemeral_ports'), deprecations


def test_new_names_do_not_warn(monkeypatch, capsys):
    params, deprecations = _main(local_ports_info, {'examine': [8080]}, monkeypatch, capsys)
    assert params['examine'] == [8080] and not deprecations
    params, deprecations = _main(local_ports, {'reserved': [8080], 'min_ephemeral': 100}, monkeypatch, capsys)
    assert params['min_ephemeral'] == 100 and not deprecations
