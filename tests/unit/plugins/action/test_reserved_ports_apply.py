# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""reserved_ports_apply on the controller: what a host keeps when other hosts' problems block it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.ephemeral.plugins.action import reserved_ports_apply

PLAN = {'settings': {'report': ''}}


def refusal(me, problem_hosts, problems=()):
    action = object.__new__(reserved_ports_apply.ActionModule)
    result = {}
    checked = {'scope': {'play': 'p'}, 'problem_hosts': problem_hosts}
    return action._refusal(result, {'inventory_hostname': me}, PLAN, list(problems), checked)  # pylint: disable=protected-access


def test_a_blocked_host_keeps_the_first_names_and_the_count_not_the_whole_list():
    hosts = ['h%04d' % index for index in range(1000)]
    result = refusal('ok', hosts)
    assert result['skipped'] is True and result['changed'] is False and result['plan'] == PLAN
    assert result['blocked_by'] == hosts[:5] and result['blocked_by_count'] == 1000
    assert 'hosts h0000, h0001, h0002, h0003, h0004 and 995 more have problems' in result['msg']


def test_a_host_blocked_by_one_other_names_it():
    result = refusal('ok', ['bad'])
    assert (result['blocked_by'], result['blocked_by_count']) == (['bad'], 1)
    assert 'host bad has problems' in result['msg']


def test_a_host_on_the_checks_list_fails_even_when_it_sees_no_problem_itself():
    result = refusal('bad', ['h1', 'bad'])
    assert result['failed'] is True and 'blocked_by' not in result
    assert 'the play-wide check found a problem on this host' in result['msg']


def test_no_problem_anywhere_goes_on():
    assert refusal('ok', []) is None
