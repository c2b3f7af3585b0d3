# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integers that YAML read from octal, hexadecimal, binary or base 60: found by their written form.

Controller-side and private.  YAML 1.1 (what Ansible loads inventory with) reads
an unquoted ``036601`` as octal (15745), ``0x8F79`` as hexadecimal and
``610:01`` as base 60 (36601), so the role would see a different number than
the one written.  ansible-core 2.19 and later tag every value loaded from a
file with its origin (path, line, column); from it the written text is read
back and compared with the number.  Where there is no origin (ansible-core
2.16, JSON extra vars, values made by templates), or the file no longer holds
that text, nothing is reported: the check never guesses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

try:
    # Private in ansible-core, stable from 2.19 to 2.21; absent before 2.19.
    from ansible._internal._datatag._tags import Origin
except ImportError:  # pragma: no cover - ansible-core 2.16
    Origin = None

_NOTATIONS = (
    ('binary', 2, re.compile(r'^[-+]?0b([01_]+)$')),
    ('hexadecimal', 16, re.compile(r'^[-+]?0x([0-9a-fA-F_]+)$')),
    ('octal', 8, re.compile(r'^[-+]?0([0-7_]+)$')),
    ('decimal', 10, re.compile(r'^[-+]?(0|[1-9][0-9_]*)$')),
)
_BASE60 = re.compile(r'^[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+$')
# Where an unquoted scalar ends on its line: a flow separator, white space or a comment.
_TOKEN_END = re.compile(r'[\s,\]\}]')
# Text fields: the fix is to quote them, not to write another number.
_TEXT_KEYS = ('name', 'note')
_CACHE_FILES = 256
_RECHECK_SECONDS = 1.0
_lines_cache = {}


def yaml_int(text):
    """(notation, value) of ``text`` read as a YAML 1.1 integer, or (None, None)."""
    sign = -1 if text.startswith('-') else 1
    if _BASE60.match(text):
        value = 0
        for part in text.lstrip('+-').replace('_', '').split(':'):
            value = value * 60 + int(part)
        return 'base-60', sign * value
    for notation, base, pattern in _NOTATIONS:
        match = pattern.match(text)
        if match:
            return notation, sign * int(match.group(1).replace('_', ''), base)
    return None, None


def _lines(path):
    """The lines of ``path``, cached while its size and mtime stay the same (looked at once a second at most).

    None when it cannot be read.
    """
    now = time.monotonic()
    cached = _lines_cache.get(path)
    if cached is not None and now - cached[0] < _RECHECK_SECONDS:
        return cached[2]
    try:
        stat = os.stat(path)
        key = (stat.st_mtime_ns, stat.st_size)
        if cached is not None and cached[1] == key:
            lines = cached[2]
        else:
            with open(path, 'rb') as handle:
                lines = handle.read().decode('utf-8', 'replace').splitlines()
    except (OSError, IOError, ValueError):
        return None
    if len(_lines_cache) >= _CACHE_FILES:
        _lines_cache.clear()
    _lines_cache[path] = (now, key, lines)
    return lines


def written_form(value):
    """(text, notation, where) of the int ``value`` as its YAML file writes it, or None when unknown."""
    origin = Origin.get_tag(value) if Origin is not None else None
    if origin is None or not origin.path or not origin.line_num or not origin.col_num:
        return None
    lines = _lines(origin.path)
    if lines is None or origin.line_num > len(lines):
        return None
    text = _TOKEN_END.split(lines[origin.line_num - 1][origin.col_num - 1:], 1)[0]
    notation, number = yaml_int(text)
    if number is None or number != value:
        return None  # not the text this value was read from (an alias, a template, an edited file)
    return text, notation, '%s line %d' % (origin.path, origin.line_num)


def _problem(label, key, value, found):
    text, notation, where = found
    if key in _TEXT_KEYS:
        fix = 'quote it: "%s"' % text
    elif notation == 'octal':
        fix = 'write it in decimal without the leading zero: %d' % int(text.replace('_', ''), 10)
    else:
        fix = 'write it in decimal: %d' % value
    return ('%s: YAML reads the unquoted %s (%s) as the %s number %d; %s'
            % (label, text, where, notation, value, fix))


def problems(value, label):
    """One problem per integer inside ``value`` that its file writes in another notation than decimal.

    ``label`` names ``value`` (a variable name); entries of lists and mappings
    are named as the role's other messages name them (``VAR[0] port``).
    """
    found = []
    _walk(value, label, None, found)
    return found


def _walk(value, label, key, found):
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        written = written_form(value)
        if written is not None and written[1] != 'decimal':
            found.append(_problem(label, key, value, written))
    elif isinstance(value, dict):
        name = value.get('name')
        owner = '%s (service %r)' % (label, str(name).strip()) if isinstance(name, str) and name.strip() else label
        for item_key, item in value.items():
            _walk(item, '%s %s' % (owner, item_key), item_key, found)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _walk(item, '%s[%d]' % (label, index), key, found)
