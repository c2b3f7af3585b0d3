# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's files: what the controller checks before any host changes, the lock, reads, the version."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import threading

import pytest

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _report, _report_files

META = _report.Meta('2026-01-02T10:00:00Z', '0.3.0', '2.19.14', False)


def test_a_writable_path_has_no_problem(tmp_path):
    assert _report_files.path_problems(str(tmp_path / 'new' / 'dirs' / 'report')) == []
    assert _report_files.path_problems('') == []
    assert _report_files.base_path(str(tmp_path / 'r.json')) == str(tmp_path / 'r')


def test_unusable_paths_are_named_with_the_role_variable(tmp_path):
    (tmp_path / 'r.json').mkdir()
    assert _report_files.path_problems(str(tmp_path / 'r')) == [
        "reserved_ports_report: %r cannot be written: %s exists and is not a file (a directory?); remove it or "
        "choose another path" % (str(tmp_path / 'r'), str(tmp_path / 'r.json'))]
    (tmp_path / 'p.preview.md').mkdir()
    assert _report_files.path_problems(str(tmp_path / 'p')) == []
    assert 'p.preview.md exists and is not a file' in _report_files.path_problems(str(tmp_path / 'p'), preview=True)[0]
    (tmp_path / 'file').write_text(u'x')
    assert 'is not a directory' in _report_files.path_problems(str(tmp_path / 'file' / 'r'))[0]
    (tmp_path / 'other.json').write_text(u'{"a": 1}')
    assert 'is not a report of portguard.ephemeral.reserved_ports' in _report_files.path_problems(str(tmp_path / 'other'))[0]
    (tmp_path / 'text.json').write_text(u'hello')
    assert 'is not JSON' in _report_files.path_problems(str(tmp_path / 'text'))[0]
    assert 'control or format characters' in _report_files.path_problems(u'/tmp/r\u202e')[0]


def test_a_read_only_directory_is_refused_as_root_too(tmp_path, monkeypatch):
    (tmp_path / 'ro').mkdir()
    monkeypatch.setattr(os, 'access', lambda path, mode: path != str(tmp_path / 'ro'))
    assert 'the controller user cannot write to the directory %s' % (tmp_path / 'ro') in \
        _report_files.path_problems(str(tmp_path / 'ro' / 'r'))[0]


def entry_for(host, at):
    run = _report.Run(at, 'apply', host, 'r-%s' % host)
    return _report.reached_host(host, {'failed': True, 'msg': 'x'}, run)


def add_host(base, host, errors):
    """One run's report step for one host: read, update, write, under the lock."""
    try:
        update_report(base, host)
    except Exception as exc:  # pylint: disable=broad-except
        errors.append(exc)


def update_report(base, host):
    with _report_files.Lock(base):
        previous = _report_files.load(base + '.json')
        known = _report.entries_of(previous) if previous else {}
        data = _report.document(_report.update(known, {host: entry_for(host, '2026-01-01T10:00:00Z')}, [host]), META)
        _report_files.write(base + '.json', _report.to_json(data))


def test_runs_at_the_same_time_never_lose_a_host(tmp_path):
    base = str(tmp_path / 'reports' / 'fleet')
    errors = []
    threads = [threading.Thread(target=add_host, args=(base, 'h%02d' % index, errors)) for index in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open(base + '.json') as handle:
        assert sorted(json.load(handle)['hosts']) == ['h%02d' % index for index in range(24)]
    assert sorted(os.listdir(str(tmp_path / 'reports'))) == ['fleet.json', 'fleet.lock']


def test_the_lock_times_out_with_a_clear_message(tmp_path):
    base = str(tmp_path / 'r')
    with _report_files.Lock(base):
        with pytest.raises(_report.ReportError, match=r'another run has held .*r\.lock for over 0 s'):
            with _report_files.Lock(base, timeout=0.2):
                pass


def test_load_and_upgrade(tmp_path):
    assert _report_files.load(str(tmp_path / 'none.json')) is None
    path = tmp_path / 'old.json'
    path.write_text(json.dumps({'schema': 2, 'generated_by': _report.GENERATED_BY, 'parts': [], 'hosts': {}, 'rows': []}))
    assert _report_files.load(str(path))['schema_version'] == _report.SCHEMA_VERSION


def test_the_collection_version_is_read_from_the_collection(monkeypatch, tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(_report_files.__file__))))
    if os.path.exists(os.path.join(root, 'MANIFEST.json')):  # an installed copy
        with open(os.path.join(root, 'MANIFEST.json')) as handle:
            expected = json.load(handle)['collection_info']['version']
    else:
        with open(os.path.join(root, 'galaxy.yml')) as handle:
            expected = [line.split(':', 1)[1].strip() for line in handle if line.startswith('version:')][0]
    monkeypatch.setattr(_report_files, '_VERSION', [])
    assert _report_files.collection_version() == expected
    (tmp_path / 'MANIFEST.json').write_text(u'{"collection_info": {"version": "9.8.7"}}')
    monkeypatch.setattr(_report_files, '_ROOT', str(tmp_path))
    monkeypatch.setattr(_report_files, '_VERSION', [])
    assert _report_files.collection_version() == '9.8.7'
