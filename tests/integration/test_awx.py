# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""examples/ as AWX / Automation Platform runs it: ansible-runner with a private data directory.

AWX lays a job out as a private data directory (project/ with the playbook, inventory/, env/ with extra
vars and environment) and runs it with ansible-runner, which writes artifacts/<ident>/ (rc, status,
job_events/*.json) that AWX reads.  Here the same happens inside a throw-away network namespace (a Lab)
with the local connection; the test reads the artifacts as AWX would and the values back from the kernel.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import shutil

import yaml

import nslab

EXAMPLES = os.path.join(nslab.REPO, 'examples')
APPLY_TASK = 'Reserve the service ports and set the ephemeral range'
APP1 = '9100,36601,37601,38601,39601,41000,48125'


def _private_data_dir(tmp_path, report):
    """project/ (examples' playbook), inventory/ (examples' inventory), env/ (extra vars, environment)."""
    root = os.path.join(str(tmp_path), 'job')
    shutil.copytree(EXAMPLES, os.path.join(root, 'project'), ignore=shutil.ignore_patterns('inventory', 'reports'))
    shutil.copytree(os.path.join(EXAMPLES, 'inventory'), os.path.join(root, 'inventory'))
    os.makedirs(os.path.join(root, 'env'))
    extravars = {'ansible_connection': 'local', 'ansible_become': False, 'reserved_ports_report': report}
    envvars = {'ANSIBLE_COLLECTIONS_PATH': nslab.COLLECTIONS, 'ANSIBLE_HOME': os.path.join(str(tmp_path), 'home'),
               'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_LOCALHOST_WARNING': 'false'}
    for name, data in (('extravars', extravars), ('envvars', envvars), ('cmdline', '--limit app1')):
        with open(os.path.join(root, 'env', name), 'w') as handle:
            handle.write(data if isinstance(data, str) else yaml.safe_dump(data))
    return root


def _events(artifacts):
    events = []
    for path in sorted(glob.glob(os.path.join(artifacts, 'job_events', '*.json')),
                       key=lambda name: int(os.path.basename(name).split('-', 1)[0])):
        with open(path) as handle:
            events.append(json.load(handle))
    return events


def _run(lab, root, ident):
    argv = [os.path.join(nslab.VENV_BIN, 'ansible-runner'), 'run', root, '-p', 'site.yml', '--ident', ident]
    env = {'PATH': nslab.VENV_BIN + ':' + os.environ.get('PATH', '/usr/bin:/bin')}
    proc = lab.run(argv, check=False, env=env)
    artifacts = os.path.join(root, 'artifacts', ident)
    with open(os.path.join(artifacts, 'status')) as handle:
        status = handle.read().strip()
    with open(os.path.join(artifacts, 'rc')) as handle:
        rc = int(handle.read().strip())
    return proc, status, rc, _events(artifacts)


def test_examples_run_through_ansible_runner_and_its_artifacts_say_what_happened(lab, tmp_path):
    report = os.path.join(str(tmp_path), 'reports', 'ports')  # outside the (temporary) project directory
    root = _private_data_dir(tmp_path, report)
    proc, status, rc, events = _run(lab, root, 'apply')
    assert (status, rc) == ('successful', 0), proc.stdout[-3000:] + proc.stderr[-2000:]
    applied = [event['event_data'] for event in events if event['event'] == 'runner_on_ok'
               and event['event_data'].get('task', '').endswith(APPLY_TASK)]
    assert len(applied) == 1 and applied[0]['host'] == 'app1'
    result = applied[0]['res']
    assert result['changed'] is True and result['reserved']['after']['canonical'] == APP1
    assert nslab.kernel_set(lab.reserved()) == nslab.kernel_set(APP1)
    stats = [event['event_data'] for event in events if event['event'] == 'playbook_on_stats'][0]
    assert stats['changed'] == {'app1': 2} and not stats['failures']
    with open(report + '.json') as handle:
        assert sorted(row['port'] for row in json.load(handle)['rows'] if row['host'] == 'app1') == \
            sorted(nslab.kernel_set(APP1))

    # A rerun, as a scheduled job would: nothing changes, no warning in any event.
    _proc, status, rc, events = _run(lab, root, 'rerun')
    assert (status, rc) == ('successful', 0)
    stats = [event['event_data'] for event in events if event['event'] == 'playbook_on_stats'][0]
    assert stats['changed'] == {}
    assert not [event for event in events if event['event_data'].get('res', {}).get('warnings')]
