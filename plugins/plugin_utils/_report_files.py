# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's files on the controller: their paths, whether they can be written, a lock, reads and atomic writes.

Controller-side and private.  ``reserved_ports_report: PATH`` gives PATH.json
and PATH.md (check mode: PATH.preview.json and PATH.preview.md), written
under an exclusive lock on PATH.lock so that runs at the same time on one
controller never lose each other's hosts, each file replaced atomically.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import re
import tempfile
import time

from ansible.module_utils.common.yaml import yaml_load

from ansible_collections.portguard.ephemeral.plugins.plugin_utils import _report

VARIABLE = 'reserved_ports_report'
LOCK_TIMEOUT = 120.0
_CONTROL = re.compile(u'[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]')
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_VERSION = []


def base_path(value):
    """The report's path without extension, absolute (relative to the directory ansible-playbook runs in)."""
    return re.sub(r'\.(json|md)$', '', os.path.abspath(os.path.expanduser(value.strip())))


def stem(base, preview):
    """PATH, or PATH.preview in check mode: the files written are stem.json and stem.md."""
    return base + '.preview' if preview else base


def _nearest_directory(path):
    while path and not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def path_problems(value, preview=False):
    """Why the report at ``value`` cannot be written (each naming reserved_ports_report), or []."""
    if not isinstance(value, str) or not value.strip():
        return []
    if _CONTROL.search(value):
        return ['%s: %r holds control or format characters; give a plain path' % (VARIABLE, value)]
    base = base_path(value)
    directory = _nearest_directory(os.path.dirname(base))
    if not os.path.isdir(directory):
        return ['%s: %r cannot be written: %s is not a directory' % (VARIABLE, value, directory)]
    if not os.access(directory, os.W_OK | os.X_OK):
        return ['%s: %r cannot be written: the controller user cannot write to the directory %s; choose a writable '
                'directory' % (VARIABLE, value, directory)]
    problems = []
    for path in [stem(base, preview) + '.json', stem(base, preview) + '.md', base + '.lock'] + \
            ([base + '.json'] if preview else []):
        if os.path.lexists(path) and not os.path.isfile(path):
            problems.append('%s: %r cannot be written: %s exists and is not a file (a directory?); remove it or '
                            'choose another path' % (VARIABLE, value, path))
    if problems:
        return problems
    try:
        load(base + '.json')
    except _report.ReportError as exc:
        problems.append('%s: %r: %s' % (VARIABLE, value, exc))
    return problems


def _makedirs(directory):
    """The report's directory, made if needed (another run may be making it at the same moment)."""
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise


class Lock(object):
    """An exclusive flock on PATH.lock, waited for up to LOCK_TIMEOUT seconds; the file stays (flock needs it)."""

    def __init__(self, base, timeout=LOCK_TIMEOUT):
        self.path = base + '.lock'
        self.timeout = timeout
        self.handle = None

    def __enter__(self):
        _makedirs(os.path.dirname(self.path))
        self.handle = open(self.path, 'a')
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.time() > deadline:
                    self.handle.close()
                    raise _report.ReportError('another run has held %s for over %d s; the report was not written'
                                              % (self.path, self.timeout))
                time.sleep(0.02)

    def __exit__(self, *exc):
        self.handle.close()  # closing the file releases the lock


def load(path):
    """The report at ``path`` (a schema 2 report upgraded), or None when there is none; ReportError otherwise."""
    try:
        with open(path, 'rb') as handle:
            data = json.loads(handle.read().decode('utf-8'))
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise _report.ReportError('%s cannot be read: %s' % (path, exc.strerror))
    except ValueError as exc:
        raise _report.ReportError('%s is not JSON (%s); it is not a report of %s, move it away or choose another '
                                  'path' % (path, exc, _report.GENERATED_BY))
    return _report.upgrade(path, data)


def write(path, text):
    """Replace ``path`` with ``text`` (UTF-8, mode 0644) atomically: a reader sees the old file or the new one."""
    directory = os.path.dirname(path)
    _makedirs(directory)
    handle, temp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(handle, 'wb') as out:
            out.write(text.encode('utf-8'))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.rename(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def collection_version():
    """This collection's version, from MANIFEST.json (installed) or galaxy.yml (a checkout); 'unknown' if neither."""
    if not _VERSION:
        version = None
        try:
            with open(os.path.join(_ROOT, 'MANIFEST.json')) as handle:
                version = json.load(handle)['collection_info']['version']
        except (IOError, OSError, ValueError, KeyError, TypeError):
            try:
                with open(os.path.join(_ROOT, 'galaxy.yml')) as handle:
                    version = yaml_load(handle)['version']
            except Exception:  # pylint: disable=broad-except
                version = None
        _VERSION.append(str(version) if version else 'unknown')
    return _VERSION[0]
