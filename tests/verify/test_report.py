# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report (--report PATH: PATH.json and PATH.md) against each host's inventory and kernel."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from verifylib import format_ports, kernel_ports, kernel_range

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'docs', 'report.schema.json')


def _row_ports(row):
    port = row['port']
    if isinstance(port, int):
        return set([port])
    low, _sep, high = str(port).partition('-')
    return set(range(int(low), int(high or low) + 1))


@pytest.fixture
def host_report(target, report):
    if report is None:
        pytest.skip('no --report given (PORTGUARD_VERIFY_REPORT)')
    data, markdown = report
    assert target.name in data['hosts'], 'the report does not list %s' % target.name
    rows = [row for row in data['rows'] if row['host'] == target.name]
    return data, data['hosts'][target.name], rows, markdown


def test_report_follows_the_schema(target, host_report):
    """The JSON report is what docs/report.schema.json describes (needs the jsonschema package)."""
    jsonschema = pytest.importorskip('jsonschema')
    data, summary, _rows, _markdown = host_report
    with open(SCHEMA) as handle:
        jsonschema.Draft202012Validator(json.load(handle)).validate(data)
    assert summary['last_run'] and summary['last_run']['mode'] in ('apply', 'preview'), summary


def test_report_lists_every_service_port(target, host_report):
    _data, summary, rows, markdown = host_report
    exp = target.expected
    assert summary['verdict'] == 'protected', summary
    listed = set()
    for row in rows:
        listed |= _row_ports(row)
    assert listed == exp.ports, '%s: report lists %s, inventory declares %s' % (
        target.name, format_ports(listed), format_ports(exp.ports))
    assert set(row['service'] for row in rows) == set(service.name for service in exp.services)
    for row in rows:
        line = '| `%s` | `%s` | %s | %s |' % (target.name, row['service'], row['protocol'], row['port'])
        assert line in markdown, 'no Markdown row starting %r' % line


@pytest.mark.expect('applied')
def test_report_matches_the_kernel(target, host_report):
    data, summary, rows, _markdown = host_report
    state = target.state()
    assert 'check mode' not in _markdown.splitlines()[0]
    assert all(row['protected'] is True for row in rows), [row for row in rows if row['protected'] is not True]
    assert kernel_ports(summary['reserved']) == kernel_ports(state['live']['reserved'])
    assert tuple(summary['range']) == kernel_range(state['live']['range'])


@pytest.mark.expect('unchanged')
def test_report_is_a_preview(target, host_report):
    """Check mode: the report shows what would be reserved; the kernel does not have it."""
    _data, summary, rows, markdown = host_report
    exp = target.expected
    assert 'check mode' in markdown.splitlines()[0] and _data['check_mode'] is True
    assert summary['last_run']['mode'] == 'preview', summary
    planned = kernel_ports(summary['reserved'])
    if exp.reserves:
        assert exp.ports <= planned, 'planned %s lacks %s' % (summary['reserved'], format_ports(exp.ports - planned))
    live = kernel_ports(target.state()['live']['reserved'])
    assert exp.ports - live, 'the kernel already has every service port: the preview proves nothing'
    assert all(row['protected'] is True for row in rows)


def test_report_names_the_listener_nobody_declared(target, host_report):
    """prepare started /usr/local/bin/undeclared-svc on portguard_verify_undeclared_listener (molecule/fleet)."""
    port = target.vars.get('portguard_verify_undeclared_listener')
    _data, summary, _rows, markdown = host_report
    if port is None:
        # Not started here: the report must not put it on this host.
        assert not [item for item in summary['undeclared_listeners']
                    if item['comm'] == 'undeclared-svc'], summary['undeclared_listeners']
        return
    found = [item for item in summary['undeclared_listeners'] if item['port'] == int(port)]
    assert found, 'the report does not list the listener on %s: %s' % (port, summary['undeclared_listeners'])
    assert found[0]['comm'] == 'undeclared-svc' and isinstance(found[0]['pid'], int), found
    assert found[0]['declared'] is False and found[0]['moves_on_restart'] is False
    assert '| `%s` | %s | tcp | `0.0.0.0:%s` | `undeclared-svc (pid ' % (target.name, port, port) in markdown
