# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's role input from its variables, and misspelled role variables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _role_vars, _services

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'reserved_ports')


class Tagged(float):
    """Stands in for ansible-core 2.19's _AnsibleTaggedFloat."""


# The choices the role's check enforces, from its table of settings.
CHOICES = dict((key, detail) for key, kind, detail in _services.SETTINGS if kind == 'choice')


def test_collect_reads_services_discovered_and_settings_once():
    values = {'reserved_ports_services_web': [{'name': 'web', 'port': 8443}], 'http_port': 8080,
              'reserved_ports_discover': ['*_port'], 'reserved_ports_mode': 'exact', 'unrelated': 1}
    reads = []

    def get(name):
        reads.append(name)
        return values[name]
    host_input, problems = _role_vars.collect(values, get)
    assert problems == []
    assert host_input == {'services': {'reserved_ports_services_web': [{'name': 'web', 'port': 8443}]},
                          'discovered': {'http_port': 8080},
                          'settings': {'discover': ['*_port'], 'mode': 'exact'}}
    assert sorted(reads) == sorted(set(reads)) and 'unrelated' not in reads


def test_collect_names_a_variable_that_cannot_be_templated():
    def get(name):
        raise ValueError("'undefined_thing' is undefined")
    _input, problems = _role_vars.collect(['reserved_ports_services_x'], get)
    assert problems == ["variable reserved_ports_services_x cannot be evaluated: 'undefined_thing' is undefined"]


def test_plain_drops_tagged_types_from_messages():
    value = _role_vars.plain({'name': 'app', 'port': Tagged(36610.0)})
    assert isinstance(value['port'], float) and not isinstance(value['port'], Tagged)
    _plan, problems = _services.host_plan({'services': {'reserved_ports_services': [value]}})
    assert 'Tagged' not in ' '.join(problems) and '36610.0' in ' '.join(problems)


@pytest.mark.parametrize('name, suggestion', [
    ('reserved_ports_service_web', 'reserved_ports_services_web'),
    ('reserved_port_services_db', 'reserved_ports_services_db'),
    ('reserved_ports_servcies', 'reserved_ports_services'),
    ('reserved_ports_stratgy', 'reserved_ports_strategy'),
    ('reserved_port_mode', 'reserved_ports_mode'),
    ('resreved_ports_range', 'reserved_ports_range'),
])
def test_misspelled_variables_are_named_with_the_closest_real_name(name, suggestion):
    assert _role_vars.unknown_vars([name, 'reserved_ports_mode', 'http_port', 'ansible_port']) == [(name, suggestion)]


def test_real_names_and_private_ones_are_not_misspelled():
    names = list(_services.ROLE_VARS) + ['reserved_ports_services_anything', '__reserved_ports_plan', 'http_port',
                                         'server_port', 'inventory_hostname', 'ansible_port', 'reports_dir']
    assert _role_vars.unknown_vars(names) == []


def _options():
    with open(os.path.join(ROLE, 'meta', 'argument_specs.yml')) as handle:
        return yaml.safe_load(handle)['argument_specs']['main']['options']


def choices_sentence(choices):
    """How meta/argument_specs.yml documents a setting's choices (the README generator reads it too)."""
    return 'Choices: %s.' % ', '.join('V(%s)' % choice for choice in choices)


def test_defaults_choices_and_argument_specs_agree():
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    options = _options()
    assert set(defaults) == set(options) == _services.ROLE_VARS
    for key, value in _services.DEFAULT_SETTINGS.items():
        var = _services.SETTING_VARS[key]
        assert defaults[var] == value == options[var]['default'], var
    for var, spec in options.items():
        documented = [line for line in spec['description'] if line.startswith('Choices: ')]
        key = var[len(_services.ROLE_PREFIX):]
        if key in CHOICES:
            assert documented == [choices_sentence(CHOICES[key])], var
            assert spec['default'] in CHOICES[key], var
        else:
            assert documented == [], var
