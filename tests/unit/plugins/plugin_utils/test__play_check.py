# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The play-wide check: which hosts it reads, every problem of every host, grouped warnings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _play_check, _services

EVERY = ['h1', 'h2', 'h3', 'h4']


def reader(variables):
    """read(host) over {host: {variable: value}}; a host missing from it cannot be read."""
    def read(host):
        values = variables[host]
        return list(values), values.__getitem__
    return read


@pytest.mark.parametrize('batch, active, expected', [
    (EVERY, EVERY, EVERY),                       # no serial: the play
    (['h1'], EVERY, EVERY),                      # first of serial: 1 reads every batch
    (['h2'], EVERY, ['h2']),                     # a later batch: h1 ran before
    (['h2'], ['h2', 'h3', 'h4'], EVERY),         # h1 failed before the check: still the first batch
    (['h3', 'h4'], ['h1', 'h3', 'h4'], ['h3', 'h4']),
], ids=['play', 'first-batch', 'later-batch', 'first-failed', 'later-pair'])
def test_hosts_to_check(batch, active, expected):
    assert _play_check.hosts_to_check(EVERY, batch, active, batch[0]) == expected


def test_every_problem_of_every_host_is_reported_at_once():
    problems, warnings = _play_check.check_hosts(['a', 'b', 'c', 'd'], reader({
        'a': {'reserved_ports_services': [{'name': 'x', 'port': 70000}, {'name': 'y'}]},
        'b': {'reserved_ports_services': [{'name': 'ok', 'port': 80}]},
        'c': {'reserved_ports_strategy': 'sideways', 'reserved_ports_services': [{'name': 'ok', 'port': 80}]},
    }))
    assert warnings == []
    assert list(problems) == ['a', 'c', 'd']
    assert len(problems['a']) == 2
    assert problems['a'][0].startswith("reserved_ports_services[0] (service 'x') port: 70000")
    assert problems['a'][1].startswith("reserved_ports_services[1] (service 'y'): no port")
    assert problems['c'] == ["reserved_ports_strategy: 'sideways' is not one of reserve, move_range, both"]
    assert problems['d'][0].startswith("its variables cannot be read: 'd'")


def test_a_host_without_services_is_refused_unless_allowed():
    assert _play_check.check_hosts(['h'], reader({'h': {}})) == ({'h': [_services.EMPTY_PROBLEM]}, [])
    assert _play_check.check_hosts(['h'], reader({'h': {'reserved_ports_allow_empty': True}})) == ({}, [])


def test_a_variable_that_cannot_be_evaluated_names_the_host_and_variable():
    def read(host):
        def get(name):
            raise ValueError("'undefined_thing' is undefined")
        return ['reserved_ports_services_web'], get
    problems, _warnings = _play_check.check_hosts(['web1'], read)
    assert problems['web1'][0] == "variable reserved_ports_services_web cannot be evaluated: 'undefined_thing' is undefined"


def test_misspelled_variables_warn_once_per_message_naming_the_hosts():
    hosts = ['h%d' % i for i in range(8)]
    variables = dict((host, {'reserved_ports_services': [{'name': 'ok', 'port': 80}], 'reserved_ports_mod': 'x',
                             'reserved_ports_on_unknown_vars': 'warn'})
                     for host in hosts)
    variables['h0']['reserved_port_services_db'] = []
    problems, warnings = _play_check.check_hosts(hosts, reader(variables))
    assert problems == {}
    assert len(warnings) == 2
    assert warnings[0] == ('host h0: variable reserved_port_services_db = [] is not a variable of '
                           'portguard.ephemeral.reserved_ports and is ignored; did you mean reserved_ports_services_db?')
    assert warnings[1].startswith("hosts h0, h1, h2, h3, h4 and 3 more: variable reserved_ports_mod = 'x' is not a "
                                  "variable")
    assert 'did you mean reserved_ports_mode?' in warnings[1]


@pytest.mark.parametrize('setting', [{}, {'reserved_ports_on_unknown_vars': 'fail'}], ids=['default', 'fail'])
def test_misspelled_variables_fail_by_default_naming_value_suggestion_and_fix(setting):
    variables = {'h1': dict({'reserved_ports_services': [{'name': 'ok', 'port': 80}],
                             'reserved_ports_stratgy': 'move_range'}, **setting)}
    problems, warnings = _play_check.check_hosts(['h1'], reader(variables))
    assert warnings == []
    assert problems == {'h1': ["variable reserved_ports_stratgy = 'move_range' is not a variable of "
                               "portguard.ephemeral.reserved_ports, which would ignore it; did you mean "
                               "reserved_ports_strategy? Rename it, or set reserved_ports_on_unknown_vars: warn if it "
                               "is meant for something else"]}


def test_services_prefix_near_misses_fail_by_default_and_an_unknown_role_prefix_name_too():
    variables = {'h1': {'reserved_ports_services': [{'name': 'ok', 'port': 80}],
                        'reserved_ports_service_web': [{'name': 'web', 'port': 8443}],
                        'reserved_ports_servces_db': [], 'reserved_ports_qqq': 1}}
    problems, _warnings = _play_check.check_hosts(['h1'], reader(variables))
    problems = problems['h1']
    assert len(problems) == 3
    assert 'reserved_ports_qqq = 1 ' in problems[0] and 'the role has no such variable' in problems[0]
    assert 'reserved_ports_servces_db = [] ' in problems[1] and 'did you mean reserved_ports_services_db?' in problems[1]
    assert 'reserved_ports_service_web = ' in problems[2] and 'did you mean reserved_ports_services_web?' in problems[2]


def test_an_invalid_on_unknown_vars_fails_and_still_names_the_misspelling():
    variables = {'h1': {'reserved_ports_services': [{'name': 'ok', 'port': 80}], 'reserved_ports_mod': 'x',
                        'reserved_ports_on_unknown_vars': 'wran'}}
    problems, warnings = _play_check.check_hosts(['h1'], reader(variables))
    assert warnings == [] and len(problems['h1']) == 2
    assert problems['h1'][0] == "reserved_ports_on_unknown_vars: 'wran' is not one of fail, warn; did you mean warn?"
    assert problems['h1'][1].startswith('variable reserved_ports_mod ')


@pytest.mark.parametrize('value, word', [(None, 'null'), ('', 'an empty string')])
def test_a_null_services_variable_adds_nothing_and_warns_once_naming_its_hosts(value, word):
    variables = dict((host, {'reserved_ports_services': [{'name': 'ok', 'port': 80}], 'reserved_ports_services_db': value})
                     for host in ('db1', 'db2'))
    problems, warnings = _play_check.check_hosts(['db1', 'db2'], reader(variables))
    assert problems == {}
    assert warnings == ['hosts db1, db2: reserved_ports_services_db is %s, so it adds no service; write [] if it has '
                        'none, or check the indentation of its entries (a list whose entries are all commented out is '
                        'null too)' % word]


def test_an_empty_services_list_says_nothing():
    variables = {'h1': {'reserved_ports_services': [{'name': 'ok', 'port': 80}], 'reserved_ports_services_db': []}}
    assert _play_check.check_hosts(['h1'], reader(variables)) == ({}, [])


def test_the_report_path_is_checked_once_per_value():
    seen = []

    def paths(value):
        seen.append(value)
        return ['reserved_ports_report: %r cannot be written' % value] if value == '/ro/r' else []
    variables = dict(('h%d' % i, {'reserved_ports_services': [{'name': 'ok', 'port': 80}],
                                  'reserved_ports_report': '/ro/r' if i < 3 else '/rw/r'}) for i in range(5))
    problems, _warnings = _play_check.check_hosts(sorted(variables), reader(variables), _play_check.cached(paths))
    assert list(problems) == ['h0', 'h1', 'h2'] and problems['h0'] == ["reserved_ports_report: '/ro/r' cannot be written"]
    assert sorted(seen) == ['/ro/r', '/rw/r']


def test_the_messages_say_who_has_problems_and_what_was_left_unchanged():
    assert _play_check.own_failure('h1', ['x', 'y'], True) == (
        'reserved_ports: 2 problem(s) in the service declarations of this host; nothing was changed on it; the other '
        'hosts of the play are left unchanged too:\n- host h1: x\n- host h1: y')
    assert 'left unchanged too' not in _play_check.own_failure('h1', ['x'], False)
    assert _play_check.blocked(['h3']).startswith('reserved_ports: not changed: host h3 has problems')
    summary = _play_check.play_summary(['h1', 'h3'], {'h1': ['reserved_ports_strategy: bad']})
    assert summary.startswith('reserved_ports: hosts h1, h3 have problems in the service declarations; no host of '
                              'the play is changed until they are fixed')
    assert summary.endswith('\n- host h1 (no longer in the play): reserved_ports_strategy: bad')


@pytest.mark.parametrize('run_tags, skip_tags, expected', [
    (['all'], [], False), (['reserved_ports'], [], False), (['reserved_ports_audit'], [], False),
    (['reserved_ports_validate'], [], True), (['all'], ['reserved_ports_apply'], True),
    (['reserved_ports_validate', 'reserved_ports_audit'], [], False), (['tagged'], [], False),
], ids=['all', 'role', 'audit', 'validate', 'skip-apply', 'validate-audit', 'tagged'])
def test_validation_only_runs_are_known_from_the_tags(run_tags, skip_tags, expected):
    assert _play_check.validate_only(run_tags, skip_tags) is expected


def test_failure_message_of_a_validation_only_run_lists_every_problem():
    whole = _play_check.failure_message({'a': ['x'], 'b': ['y']}, True)
    assert whole == 'reserved_ports: 2 problem(s) in the service declarations; nothing was changed on any host:\n- host a: x\n- host b: y'
    assert 'no host of this serial batch was changed' in _play_check.failure_message({'a': ['x']}, False)


class FakeTask(object):
    def __init__(self, register):
        self.register = register


@pytest.mark.parametrize('register, expected', [
    ('__reserved_ports_plan', '__reserved_ports_plan'), ({'__reserved_ports_plan': '_task.polymorphic_result'},
                                                         '__reserved_ports_plan'), (None, None), ('', None),
], ids=['2.16-2.20', '2.21', 'none', 'empty'])
def test_the_registered_name_under_every_ansible_core(register, expected):
    assert _play_check.register_name(FakeTask(register)) == expected


def test_a_host_list_names_the_first_hosts_and_counts_them_all():
    first = ['a', 'b', 'c', 'd', 'e']
    assert _play_check.host_list(['a']) == 'host a'
    assert _play_check.host_list(first + ['f', 'g']) == 'hosts a, b, c, d, e and 2 more'
    # Given only the first names and the count: the same words.
    assert _play_check.host_list(first, count=7) == _play_check.host_list(first + ['f', 'g'])
    assert _play_check.blocked(first, 1000).startswith(
        'reserved_ports: not changed: hosts a, b, c, d, e and 995 more have problems')
    assert _play_check.blocked(['a']).startswith('reserved_ports: not changed: host a has problems')
