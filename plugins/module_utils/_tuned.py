# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What tuned's sysctl plugin writes when it applies a profile: the profile's [sysctl] lines, then its reapply.

Private to the collection; standard library only.  Read from tuned 2.20
(Debian 12) and 2.24 (the source, ``tuned/plugins/plugin_sysctl.py``,
``tuned/profiles/``), and checked against Debian's tuned in a private
namespace (tests/integration/test_sysctl_oracle.py):

- The active profile is ``/etc/tuned/active_profile`` (several names are
  merged in order).  A profile is ``<dir>/<name>/tuned.conf``; the directories
  are /etc/tuned then /usr/lib/tuned (tuned before 2.24), or
  /etc/tuned/profiles then /usr/lib/tuned/profiles (2.24 and later, or the
  ``profile_dirs`` of tuned-main.conf, the last one first).  ``include=`` in
  ``[main]`` loads the named profiles first; a later profile's unit options
  replace an earlier one's (``replace=1`` drops the earlier unit, ``drop=``
  drops options).  A unit is a sysctl unit when its ``type`` (default: its
  name) is ``sysctl``.  The file is read as Python's configparser reads it.
- Each sysctl option is written once, its surrounding double quotes removed;
  then, unless ``reapply_sysctl`` in /etc/tuned/tuned-main.conf is off
  (default on), every ``*.conf`` in /run/sysctl.d and /etc/sysctl.d (a name in
  /run hides the same name in /etc; hidden names too), sorted by file name,
  then /etc/sysctl.conf, line by line and written as found (quotes kept).  It
  never reads /usr/lib/sysctl.d.  A line's key reaches the kernel's file only
  as written: before 2.22 every '.' becomes '/', from 2.22 '.' and '/' swap,
  so ``net/ipv4/x`` works before 2.22 only; a ``-key`` or glob line reaches no
  file and is skipped.  Every value is written with Python's ``open().write``,
  which writes the remainder of a long value after the kernel's short count:
  long port lists arrive whole.  An empty value writes nothing.
- Not modelled (the value is reported unknown): ``${variables}``, ``<`` and
  ``>`` comparison values, and profiles tuned chooses itself (no
  active_profile: the recommended one).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

from ansible_collections.portguard.ephemeral.plugins.module_utils import _boot_rules
from ansible_collections.portguard.ephemeral.plugins.module_utils._files import read_text, strip_root, under_root

MAIN_CONF = '/etc/tuned/tuned-main.conf'
ACTIVE_PROFILE = '/etc/tuned/active_profile'
REAPPLY_DIRS = ('/run/sysctl.d', '/etc/sysctl.d')
OLD_PROFILE_DIRS = ('/usr/lib/tuned', '/etc/tuned')
NEW_PROFILE_DIRS = ('/usr/lib/tuned/profiles', '/etc/tuned/profiles')
VERSION_GLOBS = ('/usr/lib/python3*/dist-packages/tuned/version.py', '/usr/lib/python3*/site-packages/tuned/version.py',
                 '/usr/lib64/python3*/site-packages/tuned/version.py')
UNIT_KEYS = ('type', 'enabled', 'replace', 'drop', 'devices', 'devices_udev_regex', 'cpuinfo_regex',
             'uname_regex', 'script_pre', 'script_post')
_BOOLEANS = {'1': True, 'yes': True, 'true': True, 'on': True, '0': False, 'no': False, 'false': False, 'off': False}
_SAFE_NAME = re.compile(r'^[a-zA-Z0-9_.-]+$')
_LINE_END = re.compile(r'\r\n|\r|\n')


class ConfigError(ValueError):
    """A file tuned cannot parse (it then applies nothing from it)."""


def _lines(text):
    return _LINE_END.split(text)


def _uncommented(raw):
    """The line without its comment, as configparser cuts it: (text, whether a comment was cut)."""
    if raw.strip()[:1] in ('#', ';'):
        return '', True
    for index, char in enumerate(raw):
        if char == '#' and (index == 0 or raw[index - 1].isspace()):
            return raw[:index].strip(), True
    return raw.strip(), False


def parse_ini(text, where, header=None):
    """Sections as Python 3's configparser reads them for tuned: [(section, [(key, value, line)])], in order.

    Delimiter '=', '#' starts an inline comment at the start or after
    whitespace, full-line comments start with '#' or ';', a line indented
    deeper than its option continues the value (blank lines inside kept), a
    repeated section or key is merged (the later value keeps the first place).
    ``header``: the section a file without one starts in (tuned-main.conf).
    Raises ConfigError where configparser fails (tuned then loads nothing).
    """
    sections = []
    current = None if header is None else (header, [])
    if current:
        sections.append(current)
    last, indent = None, 0
    for number, raw in enumerate(_lines(text), 1):
        value, commented = _uncommented(raw)
        if not value:
            if not commented and last is not None:
                last[1].append('')
            continue
        line_indent = len(raw) - len(raw.lstrip())
        if last is not None and line_indent > indent:
            last[1].append(value)
            continue
        indent = line_indent
        if value.startswith('[') and value.find(']', 2) > 0:
            name = value[1:value.rindex(']')]
            current = next((item for item in sections if item[0] == name), None) or (name, [])
            if current not in sections:
                sections.append(current)
            last = None
        elif current is None:
            raise ConfigError('%s line %d: an option before any [section]' % (where, number))
        elif '=' not in value or not value.partition('=')[0].strip():
            raise ConfigError('%s line %d: %r is neither a section nor "key = value"' % (where, number, value))
        else:
            key, _sep, val = value.partition('=')
            key = key.strip()
            last = next((item for item in current[1] if item[0] == key), None)
            if last is None:
                last = [key, None, None]
                current[1].append(last)
            last[1:] = [[val.strip()], number]
    return [(name, [(key, '\n'.join(parts).rstrip(), line) for key, parts, line in items])
            for name, items in sections]


def version(root='/'):
    """tuned's version as (major, minor) from its version.py, or None when not found."""
    for pattern in VERSION_GLOBS:
        for path in sorted(glob.glob(under_root(root, pattern))):
            text = read_text(path) or ''
            found = dict(re.findall(r'^TUNED_VERSION_(MAJOR|MINOR)\s*=\s*(\d+)', text, re.M))
            if 'MAJOR' in found and 'MINOR' in found:
                return int(found['MAJOR']), int(found['MINOR'])
    return None


def main_config(root='/'):
    """tuned-main.conf: {'reapply_sysctl': bool, 'profile_dirs': [..] or None}; ConfigError when tuned would not start."""
    text = read_text(under_root(root, MAIN_CONF))
    if text is None:
        raise ConfigError('%s is missing: tuned does not start without it' % MAIN_CONF)
    options = dict((key, value) for key, value, _line in parse_ini(text, MAIN_CONF, header='main')[0][1])
    result = {'reapply_sysctl': True, 'profile_dirs': None}
    if 'reapply_sysctl' in options:
        flag = _BOOLEANS.get(options['reapply_sysctl'].lower())
        if flag is None:
            raise ConfigError('%s: reapply_sysctl = %r is not a boolean: tuned does not start'
                              % (MAIN_CONF, options['reapply_sysctl']))
        result['reapply_sysctl'] = flag
    if options.get('profile_dirs'):
        result['profile_dirs'] = [d for d in re.split(r'\s*,\s*', options['profile_dirs'].strip()) if d]
    return result


def active_profile(root='/'):
    """The names in /etc/tuned/active_profile ([] when missing or empty: tuned picks the recommended one)."""
    text = read_text(under_root(root, ACTIVE_PROFILE)) or ''
    return [name for name in text.split() if _SAFE_NAME.match(name)]


def _profile_dirs(root, tuned_version, configured):
    if tuned_version is not None and tuned_version >= (2, 24):
        return list(reversed(configured or NEW_PROFILE_DIRS))
    if tuned_version is None and os.path.isdir(under_root(root, NEW_PROFILE_DIRS[0])):
        return list(reversed(configured or NEW_PROFILE_DIRS))
    return list(reversed(OLD_PROFILE_DIRS))


def _find(root, dirs, name, loaded):
    """The profile's tuned.conf ('' for a skipped or optional one); ConfigError when it does not exist."""
    optional = name.startswith('-')
    name = name[1:] if optional else name
    for directory in dirs:
        path = os.path.join(directory, os.path.basename(name), 'tuned.conf')
        if path in loaded:
            return ''
        if os.path.isfile(under_root(root, path)):
            return path
    if optional:
        return ''
    raise ConfigError('profile %r not found in %s: tuned applies nothing' % (name, ', '.join(dirs)))


def _load(root, dirs, names, loaded, profiles):
    """Each profile after the ones it includes: [(name, path, sections)]."""
    for name in names:
        path = _find(root, dirs, name, loaded)
        if not path:
            continue
        loaded.append(path)
        text = read_text(under_root(root, path))
        sections = parse_ini(text or '', path)
        main = dict((key, value) for sec, items in sections if sec == 'main' for key, value, _l in items)
        if main.get('include'):
            _load(root, dirs, [n for n in re.split(r'\s*[,;]\s*', main['include'].strip()) if n], loaded, profiles)
        profiles.append((os.path.basename(os.path.dirname(path)), path, sections))


def _merge(profiles):
    """Units after merging, as tuned's Merger does: {name: {'type', 'enabled', 'options': {key: origin}}}."""
    units = {}
    order = []
    for name, path, sections in profiles:
        for section, items in sections:
            if section in ('main', 'variables'):
                continue
            special = dict((k, v) for k, v, _l in items if k in UNIT_KEYS)
            options = [(k, {'value': v, 'file': path, 'line': line, 'profile': name})
                       for k, v, line in items if k not in UNIT_KEYS]
            unit = {'type': special.get('type', section),
                    'enabled': special.get('enabled', 'true').lower() in ('true', '1'), 'options': []}
            if section not in units or special.get('replace', 'false').lower() in ('true', '1'):
                units[section] = unit
                if section not in order:
                    order.append(section)
            else:
                old = units[section]
                old['type'], old['enabled'] = unit['type'], unit['enabled']
                drop = [d for d in re.split(r'\s*[,;]\s*', special.get('drop', '')) if d]
                old['options'] = [(k, o) for k, o in old['options'] if k not in drop]
            target = units[section]['options']
            for key, origin in options:
                places = [i for i, (k, _o) in enumerate(target) if k == key]
                if places:
                    target[places[0]] = (key, origin)   # a later profile's value, in the earlier place
                else:
                    target.append((key, origin))
    return [units[name] for name in order]


def profile_writes(root, names, tuned_version, configured_dirs=None):
    """The [sysctl] writes of the profile(s) ``names``, in order: [(key as written, origin)].

    ``origin`` is {'value' (quotes removed), 'file', 'line', 'profile'}.
    Raises ConfigError when tuned could not load the profile (it then applies nothing).
    """
    profiles = []
    _load(root, _profile_dirs(root, tuned_version, configured_dirs), names, [], profiles)
    writes = []
    for unit in _merge(profiles):
        if unit['type'] != 'sysctl' or not unit['enabled']:
            continue
        for key, origin in unit['options']:
            origin = dict(origin, value=re.sub(r'^"(.*)"$', r'\1', origin['value']))
            writes.append((key, origin))
    return writes


def reaches(written_key, key, tuned_version):
    """Whether a key as written in a file or profile is the kernel's ``key`` for this tuned (see the docstring)."""
    if tuned_version is not None and tuned_version < (2, 22):
        path = written_key.replace('.', '/')
    else:
        path = written_key.translate(_SWAP)
    return path == key.replace('.', '/')


_SWAP = dict(zip(map(ord, './'), './'[::-1]))


def reapply_files(root='/', replace=None, removed=()):
    """The files the reapply reads, in order: [(path, text)] (replace = (path, text) about to be written)."""
    names = {}
    for directory in REAPPLY_DIRS:
        try:
            listing = os.listdir(under_root(root, directory))
        except OSError:
            listing = []
        if replace and os.path.dirname(replace[0]) == directory:
            listing.append(os.path.basename(replace[0]))
        for name in listing:
            path = os.path.join(directory, name)
            if name.endswith('.conf') and name not in names and path not in removed:
                names[name] = path
    paths = [names[name] for name in sorted(names)] + [_boot_rules.SYSCTL_CONF]
    replace_real = os.path.realpath(under_root(root, replace[0])) if replace else None
    files = []
    for path in paths:
        full = under_root(root, path)
        if replace and os.path.realpath(full) == replace_real:
            text = replace[1]
        elif os.path.isdir(full):
            continue
        else:
            text = read_text(full)
        if text is not None:
            files.append((path, text))
    return files


def reapply_writes(root='/', replace=None, removed=()):
    """Every line the reapply writes, in order: [(key as written, {'value', 'file', 'line', 'via'})]."""
    writes = []
    for path, text in reapply_files(root, replace, removed):
        full = under_root(root, path)
        via = strip_root(root, os.path.realpath(full)) if os.path.islink(full) else None
        for number, line in enumerate(_lines(text), 1):
            line = line.strip()
            if not line or line[0] in '#;' or '=' not in line:
                continue
            key, _sep, value = line.partition('=')
            if key.strip():
                writes.append((key.strip(), {'value': value.strip(), 'file': path, 'line': number, 'via': via}))
    return writes
