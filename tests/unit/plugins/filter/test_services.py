# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's controller-side filters over _services (controller code: ansible.errors is available here)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.portguard.ephemeral.plugins.filter import services as service_filters
from ansible_collections.portguard.ephemeral.plugins.module_utils import _services


def plan_for(services=None, discovered=None, **settings_):
    plan, problems = _services.host_plan({'services': services or {}, 'discovered': discovered or {},
                                          'settings': settings_})
    assert problems == [], problems
    return plan


def applied_result(reserved='36601,37601', port_range=(32768, 60999)):
    return {'changed': True, 'range': {'before': list(port_range), 'after': list(port_range)},
            'reserved': {'before': '', 'after': reserved}, 'ephemeral_ports': {'before': 28232, 'after': 28230},
            'netns': {'link': 'net:[1]'}, 'warnings': ['w']}


# --------------------------------------------------------------------------- the filters

class FakeHostVars(dict):
    """hostvars: {host: {variable: value}} (real HostVarsVars template on access)."""


def test_fleet_filter_uses_collected_input_and_scans_the_others():
    collected = {'services': {'reserved_ports_services': [{'name': 'a', 'port': 8080}]},
                 'discovered': {}, 'settings': {'discover': ['*_port'], 'strategy': 'reserve'}}
    hostvars = FakeHostVars({
        'h1': {'__reserved_ports_input': collected, 'app_port': 1234},
        # h2 did not collect (a later serial batch): its inventory variables are read, with the
        # current host's settings as the fallback for settings it does not set.
        'h2': {'reserved_ports_services_db': [{'name': 'db', 'port': 5432}], 'app_port': 9999, 'ansible_port': 22},
    })
    plans = service_filters.reserved_ports_fleet(hostvars, ['h1', 'h2'], collected)['hosts']
    assert plans['h1']['reserved'] == [8080]
    assert plans['h2']['reserved'] == [5432, 9999]


def test_fleet_filter_error_lists_every_problem():
    hostvars = FakeHostVars({
        'h1': {'reserved_ports_services': [{'name': 'a', 'port': 8080}, {'name': 'b', 'port': 8080}]},
        'h2': {'reserved_ports_strategy': 'sideways'},
    })
    with pytest.raises(AnsibleFilterError) as info:
        service_filters.reserved_ports_fleet(hostvars, ['h1', 'h2'])
    message = str(info.value)
    assert message.startswith('reserved_ports: 2 problem(s) in the service declarations; nothing was changed on any host')
    assert "- host h1: port 8080 is claimed by two services: 'a'" in message
    assert "- host h2: reserved_ports_strategy: 'sideways' is not one of" in message


def test_discover_names_filter_rejects_bad_patterns():
    assert service_filters.reserved_ports_discover_names(['a_port', 'b'], ['*_port']) == ['a_port']
    with pytest.raises(AnsibleFilterError):
        service_filters.reserved_ports_discover_names(['a_port'], {'x': 1})


def test_report_filter_marks_hosts_that_dropped_out():
    plan = plan_for({'reserved_ports_services': [{'name': 'app', 'port': 36601}]})
    hostvars = FakeHostVars({'h1': {'__reserved_ports_plan': plan, '__reserved_ports_applied': applied_result('36601')},
                             'h2': {'__reserved_ports_plan': plan}})
    data = service_filters.reserved_ports_report(hostvars, ['h1', 'h2'], ['h1'])
    assert [(r['host'], r['protected'], r['status']) for r in data['rows']] == [
        ('h1', True, 'reserved'), ('h2', None, 'unknown: host failed or unreachable')]
