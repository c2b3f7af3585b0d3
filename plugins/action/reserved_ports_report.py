# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action reserved_ports_report: write the fleet report (JSON and Markdown) on the controller, or merge parts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import re
import tempfile

from ansible.plugins.action import ActionBase

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _report
from ansible_collections.portguard.ephemeral.plugins.plugin_utils._role_vars import plain

RESULT_VARS = ('__reserved_ports_applied', '__reserved_ports_audit')


def _write_if_changed(path, text):
    """Write ``text`` to ``path`` (atomically, mode 0644) unless it already holds it; return whether it wrote."""
    try:
        with open(path, 'r') as handle:
            if handle.read() == text:
                return False
    except (IOError, OSError):
        pass
    directory = os.path.dirname(path) or '.'
    if not os.path.isdir(directory):
        os.makedirs(directory)
    handle, temp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(handle, 'w') as out:
            out.write(text)
        os.chmod(temp, 0o644)
        os.rename(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return True


def _earlier(path, hosts):
    """{host: (summary, rows)} of ``hosts`` in the report at ``path`` (nothing when there is none)."""
    try:
        with open(path) as handle:
            data = json.load(handle)
        if data.get('schema') != _report.SCHEMA:
            return {}
        rows = {}
        for row in data['rows']:
            rows.setdefault(row['host'], []).append(row)
        return dict((host, (summary, rows.get(host, []))) for host, summary in data['hosts'].items() if host in hosts)
    except (IOError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


class ActionModule(ActionBase):
    """Runs on the controller only: reads each host's registered results once, or the parts' JSON files."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('path', 'part', 'merge'))
    _requires_connection = False

    def _host_entry(self, hostvars, host, live):
        """(summary, rows, whether a module result was found) of one host from its registered variables."""
        try:
            host_vars = hostvars[host]
            results = [plain(host_vars.get(name)) for name in RESULT_VARS]
        except Exception:  # pylint: disable=broad-except
            return _report.host_summary(host, None, None, 'unknown: its variables cannot be read') + (False,)
        usable = [item for item in results if isinstance(item, dict) and not item.get('skipped')
                  and not item.get('failed')]
        state = _report.STATE_OK if host in live else _report.STATE_FAILED
        plans = [item['plan'] for item in results if isinstance(item, dict) and isinstance(item.get('plan'), dict)]
        plan = plans[0] if plans and 'services' in plans[0] else None
        found = any(isinstance(item, dict) and not item.get('skipped') for item in results)
        return _report.host_summary(host, plan, usable[0] if usable else None, state) + (found,)

    def _collect(self, task_vars, base):
        """{host: (summary, rows)} of the hosts this run has reached, and the play's hosts.

        With `serial`, each batch reads only its own hosts; the hosts of other
        batches keep their entries from the report as it stands (the earlier
        batches of this run, or the last run for the batches still to come), so
        a rerun that changes nothing writes the same bytes in every batch.
        """
        every = list(task_vars.get('ansible_play_hosts_all') or [])
        batch = list(task_vars.get('ansible_play_batch') or every)
        live = frozenset(task_vars.get('ansible_play_hosts') or [])
        hostvars = task_vars.get('hostvars')
        summaries = {}
        if len(batch) < len(every):
            summaries.update(_earlier(base + '.json', frozenset(every)))
        reached = False
        for host in batch:
            summary, rows, found = self._host_entry(hostvars, host, live)
            summaries[host] = (summary, rows)
            reached = reached or found
        return summaries, every, reached

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = self._task.args
        path = args.get('path')
        if not isinstance(path, str) or not path.strip():
            result.update(failed=True, msg='reserved_ports_report: path %r is empty; give the report\'s path '
                                           'without extension, e.g. reports/ports' % (path,))
            return result
        base = re.sub(r'\.(json|md)$', '', os.path.abspath(os.path.expanduser(path.strip())))
        merge = args.get('merge')
        try:
            if merge:
                patterns = [merge] if isinstance(merge, str) else list(merge)
                files = sorted(set(name for pattern in patterns
                                   for name in glob.glob(os.path.abspath(os.path.expanduser(str(pattern))))))
                files = [name for name in files if os.path.abspath(name) != base + '.json']
                if not files:
                    raise _report.ReportError('merge: no report file matches %s' % ', '.join(map(str, patterns)))
                parts = []
                for name in files:
                    with open(name) as handle:
                        parts.append((name, json.load(handle)))
                data = _report.merge(parts)
            else:
                summaries, every, reached = self._collect(task_vars, base)
                if not reached:
                    # Neither the apply nor the audit step ran (--skip-tags reserved_ports_apply):
                    # a report of nothing would replace a true one.
                    result.update(skipped=True, changed=False,
                                  msg='no host ran local_ports or local_ports_info in this run; the report is left as it was')
                    return result
                part = {'name': args.get('part') or task_vars.get('ansible_limit') or 'all',
                        'limit': task_vars.get('ansible_limit') or None}
                data = _report.report(every, summaries, part)
            preview = bool(self._play_context.check_mode) and not merge
            stem = base + ('.preview' if preview else '')
            wrote_json = _write_if_changed(stem + '.json', _report.to_json(data))
            wrote_md = _write_if_changed(stem + '.md', _report.to_markdown(data, preview))
        except (_report.ReportError, ValueError, IOError, OSError) as exc:
            result.update(failed=True, msg='reserved_ports_report: %s; the report was not written' % exc)
            return result
        result.update({
            'changed': (wrote_json or wrote_md) and not preview,
            'json': stem + '.json',
            'markdown': stem + '.md',
            'preview': preview,
            'hosts': len(data['hosts']),
            'rows': len(data['rows']),
        })
        return result
