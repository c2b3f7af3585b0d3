# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who wins: what the files leave for each key at boot and after ``sysctl --system``, and every line that beats ours.

Private to the collection; standard library only.  Both modules ask here: the
apply before it writes (about the host as it will be), the audit about the
host as it is.  The rules themselves are in _boot_rules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.portguard.ephemeral.plugins.module_utils import _boot_chain, _boot_rules, _kernel, _ports
from ansible_collections.portguard.ephemeral.plugins.module_utils._files import read_text, under_root


class Outlook(object):
    """What the files leave for each key: at boot (the whole boot chain) and after a procps ``sysctl --system`` run.

    ``boot`` and ``system``: the rule models' answers per key (_boot_rules:
    systemd-sysctl, and procps ``sysctl --system``); ``chain``: the programs
    that apply sysctls at boot, in order, and ``after``: {key: what the key
    holds once all of them ran} (_boot_chain: systemd-sysctl or procps' init
    script, then tuned); ``boot_range``/``boot_reserved`` and
    ``system_range``/``system_reserved``: the parsed values (after the whole
    chain where it knows them; the kernel default where no accepted line sets a
    key).  ``invalid``: {key: PortSpecError text} for a winning boot line the
    kernel refuses.
    """

    __slots__ = ('boot', 'system', 'chain', 'after', 'boot_range', 'boot_reserved', 'system_range',
                 'system_reserved', 'invalid')

    def __init__(self, boot, system, unprivileged_port_start, chain=(), after=None):
        self.boot, self.system, self.invalid = boot, system, {}
        self.chain, self.after = list(chain), after or {}
        values = {}
        for key in _kernel.KEYS:
            values[key] = _kernel.default_value(key)
            winner = boot[key]['winner'] if key in boot else None
            if winner is not None:
                try:
                    values[key] = _kernel.parse_value(key, winner['value'], where(winner), unprivileged_port_start)
                except _ports.PortSpecError as exc:
                    self.invalid[key] = str(exc)
            record = self.after.get(key)
            if record is not None and record['value'] is not None:
                try:  # what the whole chain leaves (tuned after systemd-sysctl, procps' init script)
                    values[key] = _kernel.parse_value(key, record['value'], key, unprivileged_port_start)
                except _ports.PortSpecError:
                    pass
        self.boot_range, self.boot_reserved = values[_kernel.RANGE_KEY], values[_kernel.RESERVED_KEY]
        for key in _kernel.KEYS:
            winner = system[key]['winner'] if key in system else None
            if winner is not None:
                values[key] = _kernel.parse_value(key, winner['value'], key, unprivileged_port_start)
        self.system_range, self.system_reserved = values[_kernel.RANGE_KEY], values[_kernel.RESERVED_KEY]


def where(entry):
    return '%s line %d' % (entry['file'], entry['line'])


def outlook(root, unprivileged_port_start, replace=None, skip=(), keys=_kernel.KEYS):
    """The Outlook of the host's files, or of the host once ``replace`` (path, text) is written and ``skip`` removed."""
    def accepts(key, value):
        return _kernel.accepts(key, value, unprivileged_port_start)

    keys = list(keys)
    boot = _boot_rules.boot_config(keys, root, replace=replace, accepts=accepts, skip=skip)
    system = _boot_rules.sysctl_system_config(keys, root, replace=replace, accepts=accepts, skip=skip)
    chain = _boot_chain.detect(root)
    after = _boot_chain.after_boot(chain, keys, root, accepts, dict((key, _kernel.default_text(key)) for key in keys),
                                   replace=replace, removed=skip, systemd_boot=boot)
    return Outlook(boot, system, unprivileged_port_start, chain, after)


def irregular_warnings(root):
    """One warning per ``*.conf`` name in the sysctl directories that is not a regular file or a link."""
    return ['%s is a %s, not a regular file: skipped here, and systemd-sysctl or procps would block on it or fail '
            'at boot; remove it' % (path, what) for path, what in _boot_rules.irregular_files(root)]


def is_ours(entry, own_path):
    """An entry read from our file, directly or through a link (99-sysctl.conf -> ../sysctl.conf)."""
    return own_path in (entry['file'], entry['via']) or os.path.realpath(own_path) == entry['via']


def _real_file(entry):
    return entry.get('via') or entry['file']


def declared_elsewhere(boot, own_path, warnings):
    """Reserved ports other sysctl files set, which our file would hide at boot."""
    ports = set()
    for entry in boot[_kernel.RESERVED_KEY]['entries']:
        if is_ours(entry, own_path):
            continue
        try:
            ports.update(_ports.parse_kernel_string(entry['value'], where(entry)))
        except _ports.PortSpecError as exc:
            warnings.append('ignored an invalid value the kernel would reject at boot: %s' % exc)
    return frozenset(ports)


def persisted_problems(view, keys, path, root, skip=()):
    """Why the persisted values of ``keys`` at ``path`` would not hold: not read at boot, a later line at boot,
    or a line a ``sysctl --system`` run applies after ours.  ``view`` is the Outlook after the run."""
    problems = []
    if _boot_chain.boots_with_systemd(view.chain):   # systemd-sysctl's rules hold only where it runs at boot
        is_loaded, reason = _boot_rules.loaded_at_boot(path, root, skip=skip)
        if not is_loaded:
            problems.append('%s would not be read at boot: %s' % (path, reason))
        problems.extend(_boot_problems(view.boot, keys, path))
        problems.extend(_sysctl_system_problems(view, keys, path))
    # Later in the chain (tuned), or procps' init script instead of systemd-sysctl.
    problems.extend(_boot_chain.override_problems(view.chain, view.after, keys, path, root, view.boot))
    return problems


def chain_warnings(view, keys=_kernel.KEYS):
    """Warnings for keys whose value after boot the chain cannot say (an applier that is not modelled)."""
    return _boot_chain.unknown_warnings(view.after, list(keys)) if view.after else []


def _boot_problems(boot, keys, path):
    problems = []
    for key in keys:
        winner = boot[key]['winner']
        if winner is None:
            problems.append('%s would not be set at boot by %s' % (key, path))
        elif not is_ours(winner, path):
            place = winner['file']
            if winner.get('via'):
                place = '%s (a link to %s)' % (winner['file'], winner['via'])
            problems.append('%s line %d sets %s = %s and is applied after %s at boot, so it wins; '
                            'remove that line, or give path a name that sorts later'
                            % (place, winner['line'], key, short(winner['value']), path))
    return problems


def _sysctl_system_problems(view, keys, path):
    """Lines that a procps ``sysctl --system`` run applies after ours (a line already reported for boot is not repeated).

    That command applies /etc/sysctl.conf again after every sysctl.d file (even
    when 99-sysctl.conf links to it), so an admin's line there beats our file
    whenever anyone runs it.
    """
    problems = []
    for key in keys:
        winner = view.system[key]['winner']
        if winner is None or is_ours(winner, path):
            continue
        at_boot = view.boot[key]['winner']
        if at_boot is not None and (_real_file(at_boot), at_boot['line']) == (_real_file(winner), winner['line']):
            continue
        if winner['file'] == _boot_rules.SYSCTL_CONF:
            why = ('procps "sysctl --system" applies %s last, after every sysctl.d file and even when '
                   '99-sysctl.conf links to it, so that line wins whenever anyone runs "sysctl --system"; '
                   'remove the line from %s' % (winner['file'], winner['file']))
        else:
            why = ('procps "sysctl --system" applies it after %s, so it wins whenever anyone runs '
                   '"sysctl --system"; remove that line' % path)
        problems.append('%s sets %s = %s: %s' % (where(winner), key, short(winner['value']), why))
    return problems


def short(value, limit=60):
    return value if len(value) <= limit else value[:limit] + '...'


def summary(view, keys):
    """For each key, the file, line and value systemd-sysctl sets it from (None each when nothing does), and
    ``after_boot``: what it holds after the whole boot chain."""
    result = {}
    for key in keys:
        winner = view.boot.get(key, {}).get('winner') or {'file': None, 'line': None, 'value': None}
        result[key] = {'file': winner['file'], 'line': winner['line'], 'value': winner['value']}
        if key in view.after:
            result[key]['after_boot'] = _boot_chain.public(view.after[key])
    return result


# --------------------------------------------------------------------------- the audit's boot section

def _hidden_entries(root, key):
    """Assignments of ``key`` in files that a same-name file (or a mask) in an earlier directory hides."""
    masks = []
    hidden = []
    for item in _boot_rules.boot_files(root):
        if item['masked']:
            masks.append({'file': item['path'], 'hides': list(item['hides'])})
        for path in item['hides']:
            text = read_text(under_root(root, path))
            for number, name, value, _ignore in _boot_rules.parse_lines(text or ''):
                if name == key:
                    hidden.append({'file': path, 'line': number, 'value': value, 'via': None,
                                   'status': 'masked' if item['masked'] else 'hidden', 'by': item['path']})
    return masks, hidden


def report(view, root, warnings):
    """For each key: the value systemd-sysctl applies at boot, every file that sets it, and what
    ``sysctl --system`` leaves (``sysctl_system``).  When no file sets a key, or the winning value is one the
    kernel refuses, the boot value is the kernel default."""
    result = {}
    for key in _kernel.KEYS:
        info = view.boot[key]
        winner = info['winner']
        entries = []
        for entry in info['entries']:
            entries.append({'file': entry['file'], 'line': entry['line'], 'value': entry['value'],
                            'via': entry['via'], 'status': 'winner' if entry is winner else 'overridden',
                            'by': winner['file'] if entry is not winner else None})
        masks, hidden = _hidden_entries(root, key)
        entries.extend(hidden)
        item = {'value': _kernel.default_text(key), 'source': 'kernel default', 'file': None, 'line': None,
                'via': None, 'valid': True, 'error': None, 'entries': entries, 'masked': masks,
                'procps_override': None}
        if winner is not None:
            item.update({'value': winner['value'], 'source': 'file', 'file': winner['file'],
                         'line': winner['line'], 'via': winner['via']})
            if key in view.invalid:
                item['valid'] = False
                item['error'] = view.invalid[key]
                warnings.append('%s sets %s to a value the kernel refuses or misreads at boot (%s); '
                                'the boot value is taken as the kernel default %r'
                                % (where(winner), key, view.invalid[key], _kernel.default_text(key)))
        item['sysctl_system'] = _sysctl_system_item(key, view, item, warnings)
        if key in view.after:
            item['after_boot'] = _boot_chain.public(view.after[key])
        override = info['procps_override']
        if override:
            item['procps_override'] = {'file': override['file'], 'line': override['line'],
                                       'value': override['value']}
            if not item['sysctl_system']['differs']:
                warnings.append('%s line %d sets %s; systemd-sysctl ignores that file at boot, but a later procps '
                                '"sysctl --system" applies it last' % (override['file'], override['line'], key))
        result[key] = item
    return result


def _sysctl_system_item(key, view, boot_item, warnings):
    """What a procps ``sysctl --system`` run leaves for ``key`` after boot (the report item).

    It writes every line it reads, /etc/sysctl.conf last (even when 99-sysctl.conf
    links to it); a line the kernel refuses leaves the value before it.  No line
    at all leaves the boot value.
    """
    info = view.system[key]
    winner = info['winner']
    item = {'value': boot_item['value'], 'source': 'unchanged', 'file': None, 'line': None, 'via': None,
            'differs': False,
            'refused': [{'file': e['file'], 'line': e['line'], 'value': e['value']} for e in info['refused']]}
    if winner is None:
        return item
    if key == _kernel.RANGE_KEY:
        differs = view.system_range != view.boot_range
    else:
        differs = view.system_reserved != view.boot_reserved
    item.update({'value': winner['value'], 'source': 'file', 'file': winner['file'], 'line': winner['line'],
                 'via': winner['via'], 'differs': differs})
    if differs:
        place = where(winner)
        if winner['file'] == _boot_rules.SYSCTL_CONF:
            place += (' (procps applies /etc/sysctl.conf last, after every sysctl.d file, even when '
                      '99-sysctl.conf links to it)')
        boot_place = where(boot_item) if boot_item['file'] else 'the kernel default'
        warnings.append('a procps "sysctl --system" run sets %s = %s from %s, not the boot value %s from %s: '
                        'whoever runs it undoes the boot configuration'
                        % (key, short(winner['value']), place, short(boot_item['value']) or '""', boot_place))
    return item
