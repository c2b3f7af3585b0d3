# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot rules: which sysctl file line sets a key at boot (systemd-sysctl) and on ``sysctl --system`` (procps).

Private to the collection; standard library only.  Rules only: which file
wins, for the host as it is or as it will be once a file is written
(``replace``) and others are removed (``skip``); who-wins checks built on them
are in _boot_check.

systemd-sysctl reads ``*.conf`` from /etc/sysctl.d, /run/sysctl.d,
/usr/local/lib/sysctl.d and /usr/lib/sysctl.d.  A file name in an earlier
directory hides the same name in later ones (a link to /dev/null or an empty
file masks it); all remaining files are applied in order of their *file name*,
whatever the directory, so for a key set in several files the file whose name
sorts last wins.  It never reads /etc/sysctl.conf itself: Debian reaches it
through the link /etc/sysctl.d/99-sysctl.conf.  Hidden files (``.name.conf``)
are skipped.

procps ``sysctl --system`` (measured: procps-ng 4.0.2 on Debian 12, 4.0.4 on
Debian 13, identical) reads /etc/sysctl.d, /run/sysctl.d,
/usr/local/lib/sysctl.d, /usr/lib/sysctl.d and /lib/sysctl.d (first directory
wins a file name, hidden files included), applies the files in file-name order
and then /etc/sysctl.conf when it is a regular file, **even when**
99-sysctl.conf already linked to it: its lines are applied again, last.  It
writes every line in that order, so the last line the kernel accepts decides;
an exclusion line (``-key``) only keeps glob lines away from the key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import stat

from ansible_collections.portguard.ephemeral.plugins.module_utils._files import (
    kind,
    read_text,
    strip_root,
    under_root,
)

SYSCTL_DIRS = ('/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d')
PROCPS_DIRS = SYSCTL_DIRS + ('/lib/sysctl.d',)
SYSCTL_CONF = '/etc/sysctl.conf'
# systemd treats a key containing any of these as a glob(7) pattern.
GLOB_CHARS = '*?['


def normalize_key(key):
    """systemd accepts ``net/ipv4/x`` for ``net.ipv4.x`` when the first separator is '/'."""
    key = key.strip()
    dot, slash = key.find('.'), key.find('/')
    if slash >= 0 and (dot < 0 or slash < dot):
        key = key.replace('/', '.')
    return key


def parse_lines(text):
    """Yield (line_number, key, value, ignore_failure) for each assignment in a sysctl file."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in '#;':
            continue
        key, sep, value = stripped.partition('=')
        if not sep:
            continue
        key = key.strip()
        ignore = key.startswith('-')
        if ignore:
            key = key[1:]
        yield number, normalize_key(key), value.strip(), ignore


def parse_exclusions(text):
    """Yield (line_number, key) for ``-key`` lines without ``=``: globs must not set that key."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith('-') and '=' not in stripped:
            key = normalize_key(stripped[1:])
            if key:
                yield number, key


def is_glob(key):
    return any(char in key for char in GLOB_CHARS)


def _glob_matches(pattern, key):
    """glob(7) on the /proc/sys path: a wildcard never matches across a '.' (a '/' there)."""
    pattern_parts, key_parts = pattern.split('.'), key.split('.')
    return len(pattern_parts) == len(key_parts) and all(
        fnmatch.fnmatchcase(part, want) for part, want in zip(key_parts, pattern_parts))


def _is_masked(path):
    try:
        if os.path.realpath(path) == '/dev/null':
            return True
        return os.path.isfile(path) and os.path.getsize(path) == 0
    except OSError:
        return False


def boot_files(root='/', dirs=SYSCTL_DIRS, hidden=False, skip=()):
    """Files systemd-sysctl applies, in order: list of dicts (name, path, hides, masked).

    ``hides`` lists same-name files in later directories that this one hides;
    ``masked`` is true for a /dev/null link or an empty file.  ``hidden``: also
    take names starting with '.' (procps does, systemd-sysctl does not).
    ``skip``: paths as they will be once removed (a run that moves its file).
    """
    seen = {}
    order = []
    seen_dirs = set()
    for directory in dirs:
        real_dir = os.path.realpath(under_root(root, directory))
        if real_dir in seen_dirs or not os.path.isdir(real_dir):
            continue
        seen_dirs.add(real_dir)
        try:
            names = sorted(os.listdir(real_dir))
        except OSError:
            continue
        for name in names:
            if not name.endswith('.conf') or (name.startswith('.') and not hidden):
                continue
            path = os.path.join(directory, name)
            if path in skip:
                continue
            if name in seen:
                seen[name]['hides'].append(path)
                continue
            entry = {'name': name, 'path': path, 'hides': [], 'masked': _is_masked(under_root(root, path))}
            seen[name] = entry
            order.append(entry)
    return sorted(order, key=lambda item: item['name'])


def _files_after(root, replace, dirs, hidden=False, skip=()):
    """boot_files() as they will be once ``replace`` (path, text) is written and ``skip`` removed; and the
    replaced file's real path."""
    files = boot_files(root, dirs, hidden, skip)
    if not replace:
        return files, None
    replace_path = replace[0]
    replace_real = os.path.realpath(under_root(root, replace_path))
    if not any(os.path.realpath(under_root(root, f['path'])) == replace_real for f in files):
        directory, name = os.path.split(replace_path)
        if directory in dirs and name.endswith('.conf'):
            shadowed_by = [f for f in files if f['name'] == name]
            if not shadowed_by:
                files.append({'name': name, 'path': replace_path, 'hides': [], 'masked': False})
                files.sort(key=lambda item: item['name'])
            elif dirs.index(directory) < dirs.index(os.path.dirname(shadowed_by[0]['path'])):
                # The new file comes from an earlier directory: it hides (or unmasks) that one.
                old = shadowed_by[0]
                old.update(path=replace_path, masked=not replace[1], hides=[old['path']] + old['hides'])
    return files, replace_real


def _assignments(item, root, replace, replace_real):
    """(real path, [(line, key, value or None for an exclusion, ignore_errors)], via) of one file; lines None if unreadable."""
    full = under_root(root, item['path'])
    real = os.path.realpath(full)
    if replace and real == replace_real:
        text = replace[1]
    else:
        text = read_text(full)
    if text is None:
        return real, None, None
    via = strip_root(root, real) if os.path.islink(full) else None
    lines = list(parse_lines(text)) + [(number, key, None, False) for number, key in parse_exclusions(text)]
    return real, sorted(lines, key=lambda line: line[0]), via


def _matches(key, wanted):
    return key == wanted or (is_glob(key) and _glob_matches(key, wanted))


def boot_config(keys, root='/', replace=None, dirs=SYSCTL_DIRS, accepts=None, skip=()):
    """For each key: every assignment systemd-sysctl would make at boot, in order.

    ``replace`` is ``(path, text)`` for a file about to be written and ``skip``
    the paths about to be removed, so the answer describes the host after the run.  Returns {key: {'winner': entry|None,
    'entries': [entry, ...], 'procps_override': entry|None, 'masked': [...]}}.
    An entry is {'file', 'line', 'value', 'via' (link target or None), 'ignore_errors', 'glob'}.
    ``procps_override``: the line for the key in /etc/sysctl.conf when no file
    systemd-sysctl reads reaches that file (see sysctl_system_config for the
    whole answer about ``sysctl --system``).

    As in sysctl.d(5): a glob line never beats an explicit line for the same key,
    whatever the order; the last explicit line decides, and an exclusion line
    (``-key`` without ``=``) as the last explicit line means the key is not set.
    systemd-sysctl keeps one assignment per key or pattern *as written*
    (measured, systemd 252): a later line for the same pattern replaces it, an
    exclusion of that same pattern drops it, and a repeat with the same value
    keeps the first one's place.  Every pattern matching a key is written, in
    place order, so the last one the kernel takes (``accepts(key, value)``,
    when given) decides.
    """
    files, replace_real = _files_after(root, replace, dirs, skip=skip)
    result = dict((key, {'winner': None, 'entries': [], 'procps_override': None, 'masked': []})
                  for key in keys)
    loaded_reals, explicit, patterns = _boot_assignments(files, keys, root, replace, replace_real, result)
    _procps_override(keys, root, replace, replace_real, loaded_reals, result)
    for key in keys:
        if key in explicit:
            result[key]['winner'] = explicit[key]
            continue
        placed = sorted((place, entry) for pattern, (place, entry) in patterns.items()
                        if entry is not None and _glob_matches(pattern, key)
                        and (accepts is None or accepts(key, entry['value'])))
        result[key]['winner'] = placed[-1][1] if placed else None
    return result


def _entry(item, number, value, via, ignore, glob):
    """One assignment as boot_config and sysctl_system_config list it."""
    return {'file': item['path'], 'line': number, 'value': value, 'via': via, 'ignore_errors': ignore, 'glob': glob}


def _boot_assignments(files, keys, root, replace, replace_real, result):
    """Walk the files systemd-sysctl reads, in order, filling ``entries`` and ``masked`` of ``result``.

    Returns (real paths read, {key: last explicit entry, None for an exclusion},
    {glob pattern as written: (place, entry or None for an exclusion)}).
    """
    loaded_reals = set()
    explicit = {}
    patterns = {}
    for item in files:
        if item['masked']:
            for key in keys:
                result[key]['masked'].append(item['path'])
            continue
        real, lines, via = _assignments(item, root, replace, replace_real)
        loaded_reals.add(real)
        for number, key, value, ignore in lines or ():
            glob = is_glob(key)
            entry = None if value is None else _entry(item, number, value, via, ignore, glob)
            if glob and any(_matches(key, wanted) for wanted in keys):
                old = patterns.get(key)
                same = old is not None and (old[1] or {}).get('value') == value
                if not same:
                    patterns[key] = (_next_place(patterns), entry)
            for wanted in keys:
                if not _matches(key, wanted):
                    continue
                if entry is None:
                    if not glob:
                        explicit[wanted] = None
                    continue
                result[wanted]['entries'].append(entry)
                if not glob:
                    explicit[wanted] = entry
    return loaded_reals, explicit, patterns


def _procps_override(keys, root, replace, replace_real, loaded_reals, result):
    """Set ``procps_override``: the key's line in /etc/sysctl.conf when no file systemd-sysctl reads reaches it."""
    conf = under_root(root, SYSCTL_CONF)
    if os.path.realpath(conf) in loaded_reals:
        return
    text = replace[1] if replace and os.path.realpath(conf) == replace_real else read_text(conf)
    for number, key, value, ignore in parse_lines(text or ''):
        if key in result:
            result[key]['procps_override'] = _entry({'path': SYSCTL_CONF}, number, value, None, ignore, False)


def _next_place(patterns):
    return max([place for place, _entry in patterns.values()] or [-1]) + 1


def sysctl_system_config(keys, root='/', replace=None, accepts=None, skip=()):
    """For each key: what procps ``sysctl --system`` leaves (see the module docstring for the rules).

    ``replace`` and ``skip`` as in boot_config.  ``accepts(key, value)`` says whether the
    kernel takes a value; procps writes every line, so a refused one leaves the
    value of the last accepted line before it.  Returns {key: {'winner':
    entry|None, 'entries': [entry, ...], 'refused': [entry, ...]}}; ``winner``
    None means ``sysctl --system`` leaves the key as it was.  Entries as in
    boot_config; /etc/sysctl.conf read through 99-sysctl.conf shows up twice.
    """
    files, replace_real = _files_after(root, replace, PROCPS_DIRS, hidden=True, skip=skip)
    conf = under_root(root, SYSCTL_CONF)
    if (replace and os.path.realpath(conf) == replace_real) or os.path.isfile(conf):
        files.append({'name': None, 'path': SYSCTL_CONF, 'hides': [], 'masked': False})
    result = dict((key, {'winner': None, 'entries': [], 'refused': []}) for key in keys)
    explicit = dict((key, []) for key in keys)
    globs = dict((key, []) for key in keys)
    excluded = set()
    for item in files:
        _real, lines, via = _assignments(item, root, replace, replace_real)
        for number, key, value, ignore in lines or ():
            glob = is_glob(key)
            for wanted in keys:
                if not _matches(key, wanted):
                    continue
                if value is None:
                    if not glob:
                        excluded.add(wanted)   # keeps glob lines away; an explicit line still applies
                    continue
                entry = _entry(item, number, value, via, ignore, glob)
                result[wanted]['entries'].append(entry)
                (globs if glob else explicit)[wanted].append(entry)
    for key in keys:
        if explicit[key]:
            applied = explicit[key]
        elif key in excluded:
            applied = []
        else:
            applied = globs[key]
        for entry in applied:
            if accepts is None or accepts(key, entry['value']):
                result[key]['winner'] = entry
            else:
                result[key]['refused'].append(entry)
    return result


def irregular_files(root='/', dirs=PROCPS_DIRS):
    """``*.conf`` names in the sysctl directories that are neither regular files nor links (a FIFO, a socket, a
    directory...): [(path, kind)].  Nothing here reads them; systemd-sysctl or procps would block or fail."""
    found = []
    for directory in dirs:
        full_dir = under_root(root, directory)
        try:
            names = sorted(os.listdir(full_dir))
        except OSError:
            continue
        for name in names:
            if not name.endswith('.conf'):
                continue
            try:
                mode = os.lstat(os.path.join(full_dir, name)).st_mode
            except OSError:
                continue
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                found.append((os.path.join(directory, name), kind(mode)))
    return found


def loaded_at_boot(path, root='/', dirs=SYSCTL_DIRS, skip=()):
    """Why ``path`` would or would not be read by systemd-sysctl: (bool, reason)."""
    real = os.path.realpath(under_root(root, path))
    directory, name = os.path.split(path)
    for item in boot_files(root, dirs, skip=skip):
        full = under_root(root, item['path'])
        if os.path.realpath(full) == real:
            if item['masked']:
                return False, '%s is masked (empty or linked to /dev/null)' % item['path']
            return True, 'read as %s' % item['path']
        if item['name'] == name and directory in dirs:
            if dirs.index(os.path.dirname(item['path'])) > dirs.index(directory):
                continue  # path is in an earlier directory: it hides that file, not the reverse
            if item['masked']:
                return False, '%s masks %s' % (item['path'], path)
            if item['path'] != path:
                return False, '%s has the same name and hides %s' % (item['path'], path)
    if directory in dirs and name.endswith('.conf'):
        return True, 'read from %s' % directory
    return False, ('%s is not in a directory systemd-sysctl reads (%s) or does not end in .conf'
                   % (path, ', '.join(dirs)))
