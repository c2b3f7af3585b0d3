# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action reserved_ports_report: update the fleet report (JSON and Markdown) on the controller, or merge reports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import datetime
import glob
import os

from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ANSIBLE_CORE_VERSION

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _play_check, _report, _report_files, _report_markdown
from ansible_collections.portguard.ephemeral.plugins.plugin_utils._role_vars import plain

RESULT_VARS = (('__reserved_ports_applied', 'apply'), ('__reserved_ports_audit', 'audit'))
FREE_STRATEGIES = ('free', 'ansible.builtin.free')
# What a host left for the report: its apply or audit result (None: it left the play before), its mode, and
# whether it is gone from the play (failed or unreachable).
Reached = collections.namedtuple('Reached', 'result mode gone')


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class ActionModule(ActionBase):
    """Runs on the controller only: reads each host's registered result once, or the JSON reports to merge."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('path', 'part', 'merge'))
    _requires_connection = False
    # When this run of the task started (UTC): every host it records and the report itself carry it.
    _started = None

    def _result_of(self, hostvars, host):
        """(result, mode) of the host's apply or audit step in this run, or (None, None) when it has none.

        The host's variables are read once, as they are: a registered result is data, and templating
        it (``hostvars[host][name]``) would copy every value of it for nothing.
        """
        try:
            reader = getattr(hostvars, 'raw_get', None)
            host_vars = reader(host) if reader is not None else hostvars[host]
        except Exception:  # pylint: disable=broad-except
            return None, None
        for name, mode in RESULT_VARS:
            try:
                value = plain(host_vars.get(name))
            except Exception:  # pylint: disable=broad-except
                value = None
            if isinstance(value, dict) and (value.get('blocked_by') or not value.get('skipped')):
                return value, mode
        return None, None

    def _hosts_to_read(self, task_vars, runner):
        """(live hosts to read, hosts gone from the play, play hosts).

        The live hosts are this task's batch (under strategy free, where every
        host runs this task itself, only the runner).  The hosts gone (failed
        or unreachable, in this batch or before the role) are read too unless
        this play run has recorded them already.
        """
        every = list(task_vars.get('ansible_play_hosts_all') or [runner])
        live = frozenset(task_vars.get('ansible_play_hosts') or [])
        gone = [host for host in every if host not in live]
        if self._task.get_play().strategy in FREE_STRATEGIES:
            return [runner], gone, every
        return [host for host in task_vars.get('ansible_play_batch') or every if host in live], gone, every

    def _collect(self, task_vars, default):
        """({report base: {host: Reached}}, play hosts): what each host of this task left, by report path."""
        hosts, gone, every = self._hosts_to_read(task_vars, task_vars.get('inventory_hostname'))
        hostvars = task_vars.get('hostvars') or {}
        by_path = {}
        for host in hosts + gone:
            result, mode = self._result_of(hostvars, host)
            if result is None and host in hosts:
                continue  # not at this step yet (strategy free), or the step was not run (tags)
            path = result.get('report') if isinstance(result, dict) and isinstance(result.get('report'), str) else default
            if path and path.strip():
                by_path.setdefault(_report_files.base_path(path), {})[host] = Reached(result, mode, host not in hosts)
        return by_path, every

    def _run_info(self, task_vars, mode):
        limit = task_vars.get('ansible_limit')
        return _report.Run(self._started, 'preview' if self._play_context.check_mode and mode == 'apply' else mode,
                           str(self._task.args.get('part') or limit or 'all'), _play_check.play_id(self._task))

    def _meta(self):
        return _report.Meta(self._started, _report_files.collection_version(), ANSIBLE_CORE_VERSION,
                            bool(self._play_context.check_mode))

    def _fresh(self, reached, previous, task_vars):
        """{host: (entry, rows)} of the hosts this run reached, from their results (and earlier entries)."""
        fresh = {}
        mode = next((item.mode for item in reached.values() if item.mode), 'apply')
        for host, item in sorted(reached.items()):
            run = self._run_info(task_vars, item.mode or mode)
            known = previous.get(host)
            if item.gone and ((known[0].get('last_run') or {}) if known else {}).get('run_id') == run.run_id:
                continue  # recorded by an earlier batch of this play run, or by another host (strategy free)
            if item.result is None:
                fresh[host] = _report.left_host(run)
                continue
            entry = _report.reached_host(host, item.result, run, known)
            if entry is not None:
                fresh[host] = entry
        return fresh

    def _write(self, stem, data, previous):
        """Write stem.json and stem.md; whether the hosts' state differs from ``previous``."""
        _report_files.write(stem + '.json', _report.to_json(data))
        _report_files.write(stem + '.md', _report_markdown.to_markdown(data))
        return previous is None or _report.state_of(previous) != _report.state_of(data)

    def _update(self, base, reached, play_hosts, task_vars):
        """Update the report at ``base`` under its lock; (changed, data), or None when nobody left anything."""
        preview = bool(self._play_context.check_mode)
        with _report_files.Lock(base):
            previous = _report_files.load(base + '.json')
            known = _report.entries_of(previous) if previous else {}
            fresh = self._fresh(reached, known, task_vars)
            if not [host for host in fresh if reached[host].result is not None]:
                return None
            data = _report.document(_report.update(known, fresh, play_hosts), self._meta(),
                                    _preview_message(fresh) if preview else None)
            changed = self._write(_report_files.stem(base, preview), data, previous)
        return changed and not preview, data

    def _merge(self, base, merge):
        """Merge the reports matching ``merge`` (paths or globs) into the report at ``base``; (changed, data)."""
        patterns = [merge] if isinstance(merge, str) else [str(item) for item in merge]
        files = sorted(set(name for pattern in patterns
                           for name in glob.glob(os.path.abspath(os.path.expanduser(pattern)))))
        files = [name for name in files if os.path.abspath(name) != base + '.json']
        if not files:
            raise _report.ReportError('merge: no report file matches %s' % ', '.join(patterns))
        preview = bool(self._play_context.check_mode)
        with _report_files.Lock(base):
            previous = _report_files.load(base + '.json')
            reports = ([(base + '.json', previous)] if previous else []) + [
                (name, _report_files.load(name)) for name in files]
            data = _report.document(_report.merge(reports), self._meta())
            changed = self._write(_report_files.stem(base, preview), data, previous)
        return changed and not preview, data

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        self._started = _now()
        path, merge = self._task.args.get('path'), self._task.args.get('merge')
        if path is not None and not isinstance(path, str) or merge and not (path or '').strip():
            result.update(failed=True, msg='reserved_ports_report: path %r is not a path; give the report\'s path '
                                           'without extension, e.g. reports/ports' % (path,))
            return result
        try:
            if merge:
                written = {_report_files.base_path(path): self._merge(_report_files.base_path(path), merge)}
            else:
                by_path, every = self._collect(task_vars, path)
                default = _report_files.base_path(path) if (path or '').strip() else None
                written = {}
                for base, reached in sorted(by_path.items()):
                    update = self._update(base, reached, every if base == default else (), task_vars)
                    if update is not None:
                        written[base] = update
        except (_report.ReportError, ValueError, IOError, OSError) as exc:
            result.update(failed=True, msg='reserved_ports_report: %s; the report was not written' % exc)
            return result
        return _summary(result, written, bool(self._play_context.check_mode))


def _preview_message(fresh):
    changing = sorted(host for host, (entry, _rows) in fresh.items() if entry.get('changes'))
    return ('Preview (check mode): nothing was changed. %d of the %d hosts of this run would change%s; each such '
            'host\'s changes say how.' % (len(changing), len(fresh), (': ' + ', '.join(changing)) if changing else ''))


def _summary(result, written, preview):
    """The task's result: the files written, and the counts of each report."""
    if not written:
        result.update(skipped=True, changed=False,
                      msg='no host ran local_ports or local_ports_info in this run, or none has a '
                          'reserved_ports_report; no report was written')
        return result
    reports = []
    for base, (changed, data) in sorted(written.items()):
        stem = _report_files.stem(base, preview)
        reports.append({'json': stem + '.json', 'markdown': stem + '.md', 'changed': changed,
                        'hosts': len(data['hosts']), 'rows': len(data['rows']), 'counts': dict(data['counts'])})
    first = reports[0]
    result.update(changed=any(item['changed'] for item in reports), preview=preview, reports=reports,
                  json=first['json'], markdown=first['markdown'], hosts=first['hosts'], rows=first['rows'],
                  counts=first['counts'])
    return result
