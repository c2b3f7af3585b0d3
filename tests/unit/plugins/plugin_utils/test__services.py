# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service declarations: merging, discovery, duplicates, malformed ports, move_range, the report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _services
from ansible_collections.portguard.ephemeral.plugins.plugin_utils._services import ServicesError


def plan_for(services=None, discovered=None, **settings_):
    plan, problems = _services.host_plan({'services': services or {}, 'discovered': discovered or {},
                                          'settings': settings_})
    assert problems == [], problems
    return plan


def problems_for(services=None, discovered=None, **settings_):
    plan, problems = _services.host_plan({'services': services or {}, 'discovered': discovered or {},
                                          'settings': settings_})
    assert plan is None
    return problems


# --------------------------------------------------------------------------- merging

def test_service_var_names_main_variable_first_then_sorted():
    names = ['reserved_ports_services_web', 'other', 'reserved_ports_services', 'reserved_ports_servicesx',
             'reserved_ports_services_db', '__reserved_ports_services_x', 'reserved_ports_strategy']
    assert _services.service_var_names(names) == [
        'reserved_ports_services', 'reserved_ports_services_db', 'reserved_ports_services_web']


def test_group_lists_add_up():
    plan = plan_for({
        'reserved_ports_services_web': [{'name': 'app', 'ports': [36601, 37601]}],
        'reserved_ports_services_monitoring': [{'name': 'node-exporter', 'port': 9100}],
        'reserved_ports_services': [{'name': 'admin', 'port': '9000-9002'}],
    })
    assert plan['reserved'] == ['9000-9002', 9100, 36601, 37601]
    assert plan['ports'] == plan['reserved']
    assert [service['name'] for service in plan['services']] == ['admin', 'node-exporter', 'app']
    assert plan['services'][0]['sources'] == ['reserved_ports_services[0]']
    assert plan['services'][2]['sources'] == ['reserved_ports_services_web[0]']
    assert plan['range'] is None and plan['strategy'] == 'reserve'


def test_identical_entries_in_two_groups_count_once():
    entry = {'name': 'node-exporter', 'port': 9100}
    plan = plan_for({'reserved_ports_services_a': [entry], 'reserved_ports_services_b': [dict(entry)]})
    assert len(plan['services']) == 1
    assert plan['services'][0]['sources'] == ['reserved_ports_services_a[0]', 'reserved_ports_services_b[0]']


def test_one_service_in_several_entries_is_not_a_duplicate():
    plan = plan_for({'reserved_ports_services': [{'name': 'app', 'port': 8080},
                                                 {'name': 'app', 'ports': ['8080-8081']}]})
    assert plan['reserved'] == ['8080-8081']


@pytest.mark.parametrize('value, expected', [
    (8080, [8080]),
    ('8080', [8080]),
    ('8080-8082', ['8080-8082']),
    ([8080, '9000-9001', 8081], ['8080-8081', '9000-9001']),
    (' 8080 - 8081 ', ['8080-8081']),
])
def test_port_forms(value, expected):
    assert plan_for({'reserved_ports_services': [{'name': 'svc', 'ports': value}]})['reserved'] == expected
    if not isinstance(value, list):
        assert plan_for({'reserved_ports_services': [{'name': 'svc', 'port': value}]})['reserved'] == expected


def test_protocol_and_note_are_kept():
    plan = plan_for({'reserved_ports_services': [{'name': 'dns', 'port': 5353, 'protocol': 'UDP', 'note': 'mdns'},
                                                 {'name': 'web', 'port': 80}]})
    assert [(s['protocol'], s['note']) for s in plan['services']] == [('udp', 'mdns'), ('tcp', None)]


def test_empty_and_null_variables_are_nothing_and_need_allow_empty():
    empty = {'reserved_ports_services': [], 'reserved_ports_services_x': None, 'reserved_ports_services_y': ''}
    assert problems_for(empty) == [_services.EMPTY_PROBLEM]
    plan = plan_for(empty, allow_empty=True)
    assert plan['services'] == [] and plan['reserved'] == []
    assert plan['module_args']['reserved'] == [] and plan['module_args']['mode'] == 'merge'


def test_module_args_carry_the_validated_settings():
    plan = plan_for({'reserved_ports_services': [{'name': 'a', 'port': 36601}]}, live='no', persist='yes',
                    netns='/run/netns/x', min_ephemeral='4096', range='32768 60999',
                    min_free_per_destination='500', on_pressure='warn')
    assert plan['module_args'] == {
        'reserved': [36601], 'mode': 'merge', 'live': False, 'persist': False, 'path': _services.DEFAULT_SETTINGS['path'],
        'on_override': 'fail', 'min_ephemeral': 4096, 'min_free_per_destination': 500, 'on_pressure': 'warn',
        'examine': [36601], 'owner': 'reserved_ports', 'range': [32768, 60999], 'netns': '/run/netns/x'}


SETTING_PROBLEMS = [
    ({'path': ''}, "reserved_ports_path: '' is not an absolute path"),
    ({'path': 'etc/x.conf'}, "reserved_ports_path: 'etc/x.conf' is not an absolute path"),
    ({'netns': 'blue'}, "reserved_ports_netns: 'blue' is not an absolute path"),
    ({'live': 'maybe'}, "reserved_ports_live: 'maybe' is not a boolean"),
    ({'allow_empty': 2}, "reserved_ports_allow_empty: 2 is not a boolean"),
    ({'on_unknown_vars': 'shout'}, "reserved_ports_on_unknown_vars: 'shout' is not one of fail, warn"),
    ({'range': '500 60999'}, "reserved_ports_range: '500 60999' starts below net.ipv4.ip_unprivileged_port_start (1024)"),
    ({'move_window': [80, 60999], 'strategy': 'move_range'}, "reserved_ports_move_window: [80, 60999] starts below"),
    ({'range': '32768 61000'}, 'reserved_ports_range: 32768 61000 has ends of the same parity; the kernel then never '
                               'gives connect() one edge port and logs "prefer different parity". Write "32768 60999"'),
    ({'report': 5}, 'reserved_ports_report: 5 is not a string'),
    # The module's own rule (local_ports path), named by the role variable.
    ({'path': '/etc/sysctl.d/ports'}, "reserved_ports_path: '/etc/sysctl.d/ports' is not a *.conf file directly inside"),
    ({'path': '/etc/sysctl.d/.hidden.conf'}, "reserved_ports_path: '/etc/sysctl.d/.hidden.conf' is not a *.conf file"),
    ({'path': '/etc/sysctl.d/.conf'}, "reserved_ports_path: '/etc/sysctl.d/.conf' is not a *.conf file"),
    ({'path': '/etc/ports.conf'}, "reserved_ports_path: '/etc/ports.conf' is not a *.conf file directly inside one of "
                                  "/etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d (the "
                                  "directories systemd-sysctl and procps read at boot)"),
    ({'path': '/lib/sysctl.d/90-ports.conf'}, "reserved_ports_path: '/lib/sysctl.d/90-ports.conf' is not a *.conf file"),
    ({'path': '/etc/sysctl.d/../sysctl.d/x.conf'}, 'climbs with "." or ".."'),
    ({'path': '/etc/sysctl.d/sub/x.conf'}, 'is not a *.conf file directly inside one of /etc/sysctl.d'),
    ({'path': u'/etc/sysctl.d/x\u202e.conf'},
     'reserved_ports_path: %r holds control or format characters' % u'/etc/sysctl.d/x\u202e.conf'),
    ({'netns': '/run/netns/a\nb'}, "reserved_ports_netns: '/run/netns/a\\nb' holds control or format characters"),
]


@pytest.mark.parametrize('settings, expected', SETTING_PROBLEMS, ids=[str(i) for i in range(len(SETTING_PROBLEMS))])
def test_bad_settings_name_variable_value_and_remedy(settings, expected):
    plan, problems = _services.host_plan({'services': {'reserved_ports_services': [{'name': 'a', 'port': 36601}]},
                                          'settings': settings})
    assert plan is None
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize('settings', [
    {'path': '/usr/lib/sysctl.d/90-ports.conf'}, {'path': '/run/sysctl.d/x.conf'},
    {'path': '/anywhere/x', 'persist': False}, {'path': '/anywhere/x', 'netns': '/run/netns/blue'},
], ids=['usr-lib', 'run', 'not-persisted', 'netns'])
def test_a_path_that_is_not_persisted_to_or_is_read_at_boot_is_fine(settings):
    assert plan_for({'reserved_ports_services': [{'name': 'a', 'port': 36601}]}, **settings)


def test_ports_that_no_range_can_leave_enough_free_ports_are_refused_on_the_controller():
    problems = problems_for({'reserved_ports_services': [{'name': 'all', 'ports': ['1-65535']}]})
    assert problems == ['reserved_ports_min_ephemeral=8192 cannot be met: the service ports of this host '
                        '(reserved_ports_services*, reserved_ports_discover) reserve 65535 ports, which leaves at most '
                        '0 for automatic assignment in any ephemeral range the kernel allows (even 1-65535); reserve '
                        'fewer ports or lower reserved_ports_min_ephemeral']
    assert 'leaves at most 8191' in problems_for({'reserved_ports_services': [{'name': 'x', 'ports': ['8192-65535']}]})[0]
    assert plan_for({'reserved_ports_services': [{'name': 'x', 'ports': ['8193-65535']}]})
    assert plan_for({'reserved_ports_services': [{'name': 'x', 'ports': ['1-65535']}]}, min_ephemeral=0)


def test_a_list_under_port_is_refused():
    problems = problems_for({'reserved_ports_services_x': [{'name': 'web', 'port': [36610]}]})
    assert problems == ["reserved_ports_services_x[0] (service 'web') port: [36610] is a list; port takes one port "
                        "or \"LOW-HIGH\" range, write ports: [36610] instead"]


# --------------------------------------------------------------------------- malformed input

MALFORMED = [
    # (variable value, expected piece of the message)
    ([{'name': 'web', 'port': 80800}], "reserved_ports_services_x[0] (service 'web') port: 80800 is outside 1-65535"),
    ([{'name': 'web', 'port': '80800'}], "reserved_ports_services_x[0] (service 'web') port: '80800' is outside 1-65535"),
    ([{'name': 'web', 'port': 0}], "port: 0 contains port 0"),
    ([{'name': 'web', 'port': True}], "port: True is a boolean"),
    ([{'name': 'web', 'port': 'http'}], "port: 'http' is not a port number"),
    ([{'name': 'web', 'port': '9000-8000'}], "port: '9000-8000' is a reversed range"),
    ([{'name': 'web', 'port': '036601'}], "port: '036601' has a leading zero"),
    ([{'name': 'web', 'port': '0x50'}], "port: '0x50' is hexadecimal"),
    ([{'name': 'web', 'port': '8080,8081'}], "port: '8080,8081' is not a port or range"),
    ([{'name': 'web', 'ports': [8080, 'x']}], "ports: 'x' is not a port number"),
    ([{'name': 'web', 'ports': []}], "(service 'web') ports: [] is empty"),
    ([{'name': 'web', 'port': 1.5}], "port: 1.5 is a float"),
    ([{'name': 'web'}], "reserved_ports_services_x[0] (service 'web'): no port"),
    ([{'name': 'web', 'port': 1, 'ports': [2]}], "give either port or ports, not both"),
    ([{'port': 80}], "reserved_ports_services_x[0]: the service has no name"),
    ([{'name': '  ', 'port': 80}], "reserved_ports_services_x[0]: the service has no name"),
    ([{'name': 'web', 'prot': 'tcp', 'port': 80}], "unknown key(s) prot"),
    ([{'name': 'web', 'port': 80, 'protocol': 'sctp'}], "protocol: 'sctp' is not one of tcp, udp, both"),
    ([8080], "reserved_ports_services_x[0]: 8080 is not a mapping"),
    ({'name': 'web', 'port': 80}, "reserved_ports_services_x: {'name': 'web', 'port': 80} is a mapping; it must be a list"),
    ('8080', "reserved_ports_services_x: '8080' is not a list of services"),
]


@pytest.mark.parametrize('value, expected', MALFORMED, ids=[str(i) for i in range(len(MALFORMED))])
def test_malformed_declarations_name_variable_and_value(value, expected):
    problems = problems_for({'reserved_ports_services_x': value})
    assert len(problems) == 1
    assert expected in problems[0], problems


# --------------------------------------------------------------------------- duplicates

def test_duplicate_port_names_host_services_and_port():
    plan, problems = _services.host_plan({'services': {
        'reserved_ports_services_app': [{'name': 'app', 'port': 8080}],
        'reserved_ports_services_admin': [{'name': 'admin', 'ports': [8443, 8080]}],
    }})
    assert plan is None and problems == [
        "port 8080 is claimed by two services: 'admin' (tcp, reserved_ports_services_admin[0]) "
        "and 'app' (tcp, reserved_ports_services_app[0])"]


def test_overlapping_ranges_are_reported_as_runs():
    problems = problems_for({'reserved_ports_services': [{'name': 'a', 'port': '9000-9099'},
                                                         {'name': 'b', 'ports': ['9050-9200', 9500]},
                                                         {'name': 'c', 'port': 9099}]})
    assert problems == [
        "ports 9050-9099 are claimed by two services: 'a' (tcp, reserved_ports_services[0]) and 'b' "
        "(tcp, reserved_ports_services[1])",
        "port 9099 is claimed by two services: 'a' (tcp, reserved_ports_services[0]) and 'c' "
        "(tcp, reserved_ports_services[2])",
        "port 9099 is claimed by two services: 'b' (tcp, reserved_ports_services[1]) and 'c' "
        "(tcp, reserved_ports_services[2])",
    ]


@pytest.mark.parametrize('one, two, clash', [
    ('tcp', 'udp', False),
    ('udp', 'tcp', False),
    ('tcp', 'tcp', True),
    ('udp', 'udp', True),
    ('both', 'udp', True),
    ('tcp', 'both', True),
])
def test_tcp_and_udp_are_separate_port_spaces(one, two, clash):
    services = {'reserved_ports_services': [{'name': 'a', 'port': 53, 'protocol': one},
                                            {'name': 'b', 'port': 53, 'protocol': two}]}
    plan, problems = _services.host_plan({'services': services})
    assert bool(problems) is clash
    if not clash:
        assert plan['reserved'] == [53]


# --------------------------------------------------------------------------- discovery

def test_discover_names_matches_globs_and_skips_connection_and_own_variables():
    names = ['app_port', 'db_port', 'ansible_port', 'reserved_ports_x_port', '_private_port', 'inventory_hostname',
             'port', 'APP_PORT', 'metrics_port_list', 'web_metrics_port']
    assert _services.discover_names(names, ['*_port']) == ['app_port', 'db_port', 'web_metrics_port']
    assert _services.discover_names(names, ['*_metrics_port', 'port']) == ['port', 'web_metrics_port']
    assert _services.discover_names(names, '*_port') == ['app_port', 'db_port', 'web_metrics_port']
    assert _services.discover_names(names, []) == []
    assert _services.discover_names(['hostvars', 'groups', 'vars'], ['*']) == []


@pytest.mark.parametrize('patterns, expected', [
    ({'a': 1}, "reserved_ports_discover: {'a': 1} is not a list"),
    (['*_port', ''], "reserved_ports_discover[1]: '' is not a variable-name pattern"),
    ([3], 'reserved_ports_discover[0]: 3 is not'),
])
def test_bad_discover_patterns(patterns, expected):
    with pytest.raises(ServicesError) as info:
        _services.discover_names(['a'], patterns)
    assert expected in str(info.value)


def test_discovered_integer_values_become_ports():
    plan = plan_for(discovered={'app_port': 8080, 'admin_port': '9090', 'name_port': 'http', 'flag_port': True,
                                'list_port': [1, 2], 'none_port': None})
    assert plan['reserved'] == [8080, 9090]
    assert [(s['name'], s['protocol'], s['discovered']) for s in plan['services']] == [
        ('admin_port', 'both', True), ('app_port', 'both', True)]
    assert sorted(plan['discover_skipped']) == [
        "flag_port: True is not an integer", "list_port: [1, 2] is not an integer",
        "name_port: 'http' is not an integer", "none_port: None is not an integer"]


def test_discovered_ports_never_clash():
    plan = plan_for({'reserved_ports_services': [{'name': 'db', 'port': 5432}]},
                    {'db_port': 5432, 'pg_port': 5432, 'app_port': 8080, 'lb_backend_port': 8080})
    assert plan['reserved'] == [5432, 8080]
    names = [(s['name'], s['sources']) for s in plan['services']]
    assert names == [('db', ['reserved_ports_services[0]']), ('app_port', ['app_port', 'lb_backend_port'])]


def test_discovered_value_out_of_range_names_the_variable():
    problems = problems_for(discovered={'app_port': 70000})
    assert problems == ['app_port: 70000 (found by reserved_ports_discover) is outside 1-65535; fix the value or '
                        'change the pattern so it does not match this variable']


# --------------------------------------------------------------------------- settings

@pytest.mark.parametrize('settings_, expected', [
    ({'strategy': 'moverange'}, "reserved_ports_strategy: 'moverange' is not one of reserve, move_range, both"),
    ({'mode': 'replace'}, "reserved_ports_mode: 'replace' is not one of merge, exact"),
    ({'on_held': 'ignore'}, "reserved_ports_on_held: 'ignore' is not one of warn, fail"),
    ({'on_override': 'ok'}, "reserved_ports_on_override: 'ok' is not one of fail, warn"),
    ({'on_pressure': 'ignore'}, "reserved_ports_on_pressure: 'ignore' is not one of fail, warn"),
    ({'min_free_per_destination': -1}, 'reserved_ports_min_free_per_destination: -1 is outside 0-65535'),
    ({'min_free_per_destination': 'lots'}, "reserved_ports_min_free_per_destination: 'lots' is not a number"),
    ({'min_ephemeral': 'many'}, "reserved_ports_min_ephemeral: 'many' is not a number"),
    ({'min_ephemeral': True}, 'reserved_ports_min_ephemeral: True is a boolean'),
    ({'min_ephemeral': 70000}, 'reserved_ports_min_ephemeral: 70000 is outside 0-65535'),
    ({'range': '40000'}, "reserved_ports_range: '40000' is not two numbers"),
    ({'range': '50000 40000'}, "reserved_ports_range: '50000 40000' is reversed"),
    ({'move_window': [40000]}, 'reserved_ports_move_window: [40000] is not a pair'),
    ({'range': '40000 50001', 'strategy': 'move_range'},
     "reserved_ports_range: '40000 50001' is set, but reserved_ports_strategy=move_range chooses the range itself"),
    ({'discover': 5}, 'reserved_ports_discover: 5 is not a list'),
])
def test_bad_settings(settings_, expected):
    problems = problems_for(**settings_)
    assert len(problems) == 1 and expected in problems[0], problems


def test_settings_accept_strings_from_ini_inventories():
    plan = plan_for({'reserved_ports_services': [{'name': 'a', 'port': 40000}]}, range='40000 50001',
                    min_ephemeral='8192')
    assert plan['range'] == [40000, 50001]
    assert plan['settings']['min_ephemeral'] == 8192


def test_explicit_range_capacity_is_checked_on_the_controller():
    problems = problems_for({'reserved_ports_services': [{'name': 'a', 'port': '40000-40099'}]},
                            range=[40000, 48191])
    assert problems == ['reserved_ports_range 40000 48191 holds 8192 ports; reserving the 100 service ports inside it '
                        'leaves 8092, below reserved_ports_min_ephemeral=8192; widen the range or move it with '
                        'strategy move_range']


# --------------------------------------------------------------------------- move_range

def test_gaps():
    assert _services.gaps([], (10, 20)) == [(10, 20)]
    assert _services.gaps([10, 20], (10, 20)) == [(11, 19)]
    assert _services.gaps([5, 12, 13, 30], (10, 20)) == [(10, 11), (14, 20)]
    assert _services.gaps(range(10, 21), (10, 20)) == []


@pytest.mark.parametrize('ports, window, minimum, expected', [
    ([], (32768, 60999), 8192, (32768, 60999)),
    ([36601, 37601, 38601], (32768, 60999), 8192, (38602, 60999)),
    ([33000, 40000, 52000], (32768, 60999), 8192, (40001, 51998)),      # both odd: one port less
    ([40000], (32768, 60999), 8192, (40001, 60998)),                    # 40001..60999 both odd
    ([45000], (30000, 59999), 8192, (30000, 44999)),                    # 45001-59999 shrinks to 14998 ports
    ([45000], (30000, 60000), 8192, (45001, 60000)),                    # 15000 each: the higher one wins
    ([1000, 70000], (32768, 60999), 28232, (32768, 60999)),             # ports outside the window do not count
])
def test_choose_range(ports, window, minimum, expected):
    assert _services.choose_range(ports, window, minimum) == expected


def test_choose_range_fails_with_the_numbers():
    with pytest.raises(ServicesError) as info:
        _services.choose_range(range(36000, 61000, 6000), (32768, 60999), 8192)
    assert str(info.value) == (
        'reserved_ports_strategy=move_range: no range of at least 8192 ports (reserved_ports_min_ephemeral) fits in '
        'reserved_ports_move_window 32768-60999 without a service port: the largest range without a service port '
        '(ends of different parity) is 54001-59998 (5998 ports); service ports 36000,42000,48000,54000,60000 lie in '
        'the window. Widen reserved_ports_move_window, lower reserved_ports_min_ephemeral, or use strategy reserve')
    with pytest.raises(ServicesError) as info:
        _services.choose_range(range(100, 201), (100, 200), 1)
    assert 'every port of it is a service port' in str(info.value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1000, 2000), max_size=12), st.integers(1000, 1500), st.integers(0, 500),
       st.integers(1, 50))
def test_choose_range_properties(ports, low, width, minimum):
    window = (low, low + width)
    try:
        chosen = _services.choose_range(ports, window, minimum)
    except ServicesError:
        # Then no gap, shrunk to different parity, holds `minimum` ports.
        sizes = [_services._gap_range(*gap) for gap in _services.gaps(ports, window)]
        assert all(high - lo + 1 < minimum for lo, high in sizes)
        return
    lo, high = chosen
    assert window[0] <= lo <= high <= window[1]
    assert not any(lo <= port <= high for port in ports)
    assert high - lo + 1 >= minimum
    assert lo == high or (high - lo) % 2 == 1
    for gap in _services.gaps(ports, window):
        g_lo, g_high = _services._gap_range(*gap)
        assert g_high - g_lo + 1 <= high - lo + 1


def test_strategies():
    services = {'reserved_ports_services': [{'name': 'a', 'port': 33000}, {'name': 'b', 'port': 40000},
                                            {'name': 'c', 'port': 52000}]}
    reserve = plan_for(services)
    assert (reserve['reserved'], reserve['range']) == ([33000, 40000, 52000], None)
    move = plan_for(services, strategy='move_range')
    assert (move['reserved'], move['range']) == ([], [40001, 51998])
    assert move['ports'] == [33000, 40000, 52000]
    both = plan_for(services, strategy='both', move_window='40000 60999')
    assert (both['reserved'], both['range']) == ([33000, 40000, 52000], [40001, 51998])
    explicit = plan_for(services, range='40000 60999')
    assert explicit['range'] == [40000, 60999]


@pytest.mark.parametrize('owner, words', [
    ('team/app', "reserved_ports_owner: 'team/app' has characters unfit for a file name"),
    ('', "reserved_ports_owner: '' is empty"),
    ('x' * 65, 'is 65 characters long; at most 64'),
])
def test_a_bad_owner_name_is_refused_naming_the_variable(owner, words):
    with pytest.raises(_services.ServicesError) as info:
        _services.check_settings({'owner': owner})
    assert words in str(info.value)


def _moved(strategy='reserve', port_range=None, winner=None, path='/etc/sysctl.d/zz-portguard-ephemeral.conf'):
    plan = {'strategy': strategy, 'range': port_range}
    result = {'persisted_file': path, 'boot': {'net.ipv4.ip_local_port_range': winner}}
    return _services.moved_range_left(plan, result)


def test_leaving_a_persisted_moved_range_is_said_once_with_both_ways_out():
    ours = {'file': '/etc/sysctl.d/zz-portguard-ephemeral.conf', 'line': 5, 'value': '40001 60998'}
    assert _moved(winner=ours) == (
        'net.ipv4.ip_local_port_range stays 40001 60998: /etc/sysctl.d/zz-portguard-ephemeral.conf line 5 still sets '
        'it, from an earlier move_range run or reserved_ports_range, and strategy reserve without reserved_ports_range '
        'keeps it. Set reserved_ports_range: "32768 60999" to go back to the kernel\'s default, or "40001 60998" to '
        'keep it without this warning')


@pytest.mark.parametrize('kwargs', [
    {'strategy': 'move_range', 'port_range': [40001, 60998]},      # the range is managed this run
    {'port_range': [40001, 60998]},                                 # reserve with an explicit range
    {'winner': {'file': '/etc/sysctl.d/zz-portguard-ephemeral.conf', 'line': 5, 'value': '32768 60999'}},  # default
    {'winner': {'file': '/etc/sysctl.d/10-admin.conf', 'line': 1, 'value': '40000 60999'}},   # not our file
    {'winner': None},                                                # no range line at all
    {'path': None, 'winner': {'file': '/etc/sysctl.d/zz-portguard-ephemeral.conf', 'line': 5, 'value': '40001 60998'}},
], ids=['move_range', 'explicit-range', 'kernel-default', 'other-file', 'no-line', 'persist-off'])
def test_nothing_is_said_when_no_earlier_range_is_left_in_place(kwargs):
    kwargs.setdefault('winner', {'file': '/etc/sysctl.d/zz-portguard-ephemeral.conf', 'line': 5, 'value': '40001 60998'})
    assert _moved(**kwargs) is None
