# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""reserved_ports_report on the controller: each host's registered result is read once, as it is."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.ephemeral.plugins.action import reserved_ports_report


class Hostvars(object):
    """hostvars whose templated access fails the test: only raw_get (once per host) may be used."""

    def __init__(self, variables):
        self.variables, self.reads = variables, []

    def raw_get(self, host):
        self.reads.append(host)
        return self.variables[host]

    def __getitem__(self, host):
        raise AssertionError('hostvars[%s] templates every value of the host' % host)


def result_of(hostvars, host):
    action = object.__new__(reserved_ports_report.ActionModule)
    return action._result_of(hostvars, host)  # pylint: disable=protected-access


def test_each_hosts_result_is_read_once_without_templating():
    audit = {'changed': False, 'ports': []}
    hostvars = Hostvars({'a': {'__reserved_ports_applied': {'changed': True}},
                         'b': {'__reserved_ports_applied': {'skipped': True}, '__reserved_ports_audit': audit},
                         'c': {}})
    assert result_of(hostvars, 'a') == ({'changed': True}, 'apply')
    assert result_of(hostvars, 'b') == (audit, 'audit')
    assert result_of(hostvars, 'c') == (None, None)
    assert hostvars.reads == ['a', 'b', 'c']


def test_a_blocked_host_counts_as_reached_and_a_host_that_cannot_be_read_as_not():
    blocked = {'skipped': True, 'blocked_by': ['x'], 'blocked_by_count': 1}
    assert result_of(Hostvars({'a': {'__reserved_ports_applied': blocked}}), 'a') == (blocked, 'apply')
    assert result_of(Hostvars({}), 'gone') == (None, None)
