# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ports that YAML read as octal, hex, binary or base 60: refused from their origin, never guessed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _play_check, _role_vars, _services, _yaml_numbers

try:
    from ansible.parsing.dataloader import DataLoader
except ImportError:  # pragma: no cover
    DataLoader = None

NEEDS_ORIGIN = pytest.mark.skipif(_yaml_numbers.Origin is None, reason='ansible-core before 2.19 keeps no origin')

INVENTORY = '''\
reserved_ports_services_app:
  - {name: app-1, port: 036601}
  - name: app-2
    port: 0x8F79
  - name: app-3
    ports: [610:01, "40000-40009", 010]   # three notations
  - {name: ok, port: 36602, note: 0b11}
  - {name: fine, port: +36_603}
reserved_ports_min_ephemeral: 010000
'''


@pytest.mark.parametrize('text, expected', [
    ('36601', ('decimal', 36601)), ('0', ('decimal', 0)), ('+36_601', ('decimal', 36601)),
    ('036601', ('octal', 15745)), ('010', ('octal', 8)), ('0x8F79', ('hexadecimal', 36729)),
    ('0b1010', ('binary', 10)), ('610:01', ('base-60', 36601)), ('-1:00', ('base-60', -60)),
    ('08080', (None, None)), ('"036601"', (None, None)), ('&anchor', (None, None)),
])
def test_yaml_int_reads_yaml_1_1_integers(text, expected):
    assert _yaml_numbers.yaml_int(text) == expected


def _load(tmp_path, text=INVENTORY):
    path = tmp_path / 'app.yml'
    path.write_text(text)
    return str(path), DataLoader().load_from_file(str(path))


@NEEDS_ORIGIN
def test_numbers_written_in_another_notation_are_named_with_file_line_and_fix(tmp_path):
    path, data = _load(tmp_path)
    found = _yaml_numbers.problems(data['reserved_ports_services_app'], 'reserved_ports_services_app')
    assert found == [
        "reserved_ports_services_app[0] (service 'app-1') port: YAML reads the unquoted 036601 (%s line 2) as the "
        "octal number 15745; write it in decimal without the leading zero: 36601" % path,
        "reserved_ports_services_app[1] (service 'app-2') port: YAML reads the unquoted 0x8F79 (%s line 4) as the "
        "hexadecimal number 36729; write it in decimal: 36729" % path,
        "reserved_ports_services_app[2] (service 'app-3') ports[0]: YAML reads the unquoted 610:01 (%s line 6) as the "
        "base-60 number 36601; write it in decimal: 36601" % path,
        "reserved_ports_services_app[2] (service 'app-3') ports[2]: YAML reads the unquoted 010 (%s line 6) as the "
        "octal number 8; write it in decimal without the leading zero: 10" % path,
        "reserved_ports_services_app[3] (service 'ok') note: YAML reads the unquoted 0b11 (%s line 7) as the "
        "binary number 3; quote it: \"0b11\"" % path,
    ]
    assert _yaml_numbers.problems(data['reserved_ports_min_ephemeral'], 'reserved_ports_min_ephemeral') == [
        'reserved_ports_min_ephemeral: YAML reads the unquoted 010000 (%s line 9) as the octal number 4096; write it '
        'in decimal without the leading zero: 10000' % path]


@NEEDS_ORIGIN
def test_a_file_that_changed_since_it_was_loaded_is_not_guessed_from(tmp_path):
    path, data = _load(tmp_path)
    with open(path, 'w') as handle:
        handle.write(INVENTORY.replace('036601', '36601 ').replace('0x8F79', '36729 '))
    found = _yaml_numbers.problems(data['reserved_ports_services_app'][:2], 'v')
    assert found == []


def test_values_without_an_origin_pass_as_they_are():
    """ansible-core 2.16, JSON extra vars, values made by templates: nothing to read back."""
    value = [{'name': 'app-1', 'port': 15745}, {'name': 'app-2', 'ports': [8, '40000-40009']}]
    assert _yaml_numbers.problems(value, 'reserved_ports_services_app') == []


def _tagged_host(tmp_path):
    _path, data = _load(tmp_path, 'reserved_ports_services_app:\n  - {name: app-1, port: 036601}\n'
                                  'reserved_ports_services_db:\n  - {name: db, port: 5432}\n')
    return list(data), data.__getitem__


@NEEDS_ORIGIN
def test_the_play_check_refuses_the_host_with_one_message_per_mistake(tmp_path):
    names, get = _tagged_host(tmp_path)
    problems, warnings = _play_check.check_hosts(['app1'], lambda host: (names, get))
    assert warnings == [] and list(problems) == ['app1'] and len(problems['app1']) == 1
    assert problems['app1'][0].startswith("reserved_ports_services_app[0] (service 'app-1') port: YAML reads the "
                                          "unquoted 036601 (")


@NEEDS_ORIGIN
def test_a_misread_variable_is_left_out_so_no_second_message_follows(tmp_path):
    _path, data = _load(tmp_path, 'reserved_ports_services_app:\n  - {name: app-1, port: 036601}\n')
    host_input, problems = _role_vars.collect(list(data), data.__getitem__)
    assert len(problems) == 1 and host_input['services'] == {} and host_input['incomplete'] is True
    assert _services.host_plan(host_input)[1] == []
