# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which programs apply sysctl settings at boot, in order, and the value each key ends with after all of them.

Private to the collection; standard library only.  Everything reads the tree
under ``root``, so a generated tree can stand in for a host.

The chain (``detect``):
1. The boot applier, from the init system:
   - ``systemd-sysctl``: systemd is PID 1 (/run/systemd/system exists) or
     /sbin/init is systemd; its rules are _boot_rules.boot_config.  A masked
     systemd-sysctl.service applies nothing.
   - ``procps``: sysvinit, or Debian's openrc, runs /etc/init.d/procps
     (``sysctl -q --system``, enabled by an rc?.d or /etc/runlevels link); its
     rules are _boot_rules.sysctl_system_config.  It writes each value with one
     write(), so the kernel keeps what fits in the first 4095 bytes.
   - ``openrc-sysctl``: Alpine's OpenRC ``sysctl`` service walks the
     directories itself; not modelled (the value after boot is unknown).
   - No init system found (a container without one): systemd-sysctl is assumed,
     as the modules always did, and ``source`` says so.
2. ``tuned``, when its service is enabled (a systemd *.wants link, an rc?.d or
   /etc/runlevels link) and /usr/sbin/tuned exists: its active profile's
   [sysctl] lines, then its reapply of the system files (see _tuned).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

from ansible_collections.portguard.ephemeral.plugins.module_utils import _boot_rules, _tuned
from ansible_collections.portguard.ephemeral.plugins.module_utils._files import read_text, strip_root, under_root

SYSTEMD = 'systemd-sysctl'
PROCPS = 'procps'
OPENRC_SYSCTL = 'openrc-sysctl'
TUNED = 'tuned'
UNIT_DIRS = ('/etc/systemd/system', '/run/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system')
# One write() reaches the kernel with at most this many bytes (kernel/sysctl.c, proc_do_large_bitmap).
ONE_WRITE = 4095


def _exists(root, path):
    return os.path.lexists(under_root(root, path))


def _links(root, pattern):
    """Paths (as on the host) matching ``pattern`` under ``root``, sorted."""
    base = under_root(root, '/')
    return sorted('/' + os.path.relpath(path, base) for path in glob.glob(under_root(root, pattern)))


def _unit_masked(root, unit):
    for directory in UNIT_DIRS[:2]:
        path = under_root(root, os.path.join(directory, unit))
        if os.path.islink(path) and os.path.realpath(path) == '/dev/null':
            return True
    return False


def _init_system(root):
    """('systemd'|'sysvinit'|'openrc'|None, why)."""
    if os.path.isdir(under_root(root, '/run/systemd/system')):
        return 'systemd', '/run/systemd/system exists: systemd is PID 1'
    init = under_root(root, '/sbin/init')
    if os.path.lexists(init):
        real = os.path.realpath(init)
        if os.path.basename(real) == 'systemd':
            return 'systemd', '/sbin/init is systemd (%s)' % strip_root(root, real)
        if _exists(root, '/sbin/openrc') or _exists(root, '/sbin/openrc-run'):
            return 'openrc', '/sbin/init is not systemd and OpenRC is installed (/sbin/openrc)'
        return 'sysvinit', '/sbin/init is not systemd (%s)' % strip_root(root, real)
    return None, 'no init system found (no /run/systemd/system, no /sbin/init)'


def _service_links(root, name):
    """Links that start the init script ``name`` at boot (sysvinit rc?.d, OpenRC runlevels)."""
    return _links(root, '/etc/rc[S2-5].d/S[0-9][0-9]%s' % name) + _links(root, '/etc/runlevels/*/%s' % name)


def _boot_applier(root):
    init, why = _init_system(root)
    if init in (None, 'systemd'):
        if init is None:
            why += '; assumed: the files are read as systemd-sysctl reads them'
        if _unit_masked(root, 'systemd-sysctl.service'):
            return None, why + '; systemd-sysctl.service is masked: nothing applies the sysctl files at boot'
        return {'name': SYSTEMD, 'source': why, 'modelled': True}, None
    if init == 'openrc' and _exists(root, '/etc/init.d/sysctl') and _service_links(root, 'sysctl'):
        return {'name': OPENRC_SYSCTL, 'modelled': False,
                'source': '%s; %s starts /etc/init.d/sysctl, whose own walk of the directories is not modelled'
                          % (why, _service_links(root, 'sysctl')[0])}, None
    text = read_text(under_root(root, '/etc/init.d/procps')) or ''
    links = _service_links(root, 'procps')
    if '--system' in text and links:
        return {'name': PROCPS, 'modelled': True,
                'source': '%s; %s starts /etc/init.d/procps, which runs "sysctl -q --system"' % (why, links[0])}, None
    return None, why + '; no enabled /etc/init.d/procps: nothing applies the sysctl files at boot'


def _tuned_applier(root):
    """The tuned entry, or None when tuned is not started at boot."""
    if not _exists(root, '/usr/sbin/tuned'):
        return None
    wants = [] if _unit_masked(root, 'tuned.service') else (
        _links(root, '/etc/systemd/system/*.wants/tuned.service') + _links(root, '/usr/lib/systemd/system/*.wants/tuned.service'))
    sources = wants + _service_links(root, 'tuned')
    if not sources:
        return None
    return tuned_entry(root, sources[0], _tuned.version(root))


def tuned_entry(root, source, version):
    """tuned's applier entry from its configuration under ``root`` (``version``: (major, minor) or None)."""
    entry = {'name': TUNED, 'source': source, 'modelled': True, 'profile': None, 'reapply_sysctl': None,
             'version': '%d.%d' % version if version else None, 'note': None}
    try:
        main = _tuned.main_config(root)
        entry['reapply_sysctl'] = main['reapply_sysctl']
        names = _tuned.active_profile(root)
        if not names:
            entry.update(modelled=False, note='%s is empty or missing: tuned applies the profile it recommends, '
                                              'which is not modelled' % _tuned.ACTIVE_PROFILE)
            return entry
        entry['profile'] = ' '.join(names)
        _tuned.profile_writes(root, names, version, main['profile_dirs'])
    except _tuned.ConfigError as exc:
        entry['note'] = '%s; tuned applies nothing' % exc
    return entry


def detect(root='/'):
    """The programs that apply sysctl settings at boot, in order: [{'name', 'source', 'modelled', ...}].

    tuned's entry also has ``profile``, ``reapply_sysctl`` (None when tuned
    cannot start), ``version`` and ``note`` (why it applies nothing, or what
    is not modelled).  When no program applies the files at boot the list has
    no boot entry; ``boot_note`` says why.
    """
    boot, _why = _boot_applier(root)
    appliers = [boot] if boot else []
    tuned = _tuned_applier(root)
    if tuned:
        appliers.append(tuned)
    return appliers


def boot_note(root='/'):
    """Why no program applies the sysctl files at boot (None when one does)."""
    return _boot_applier(root)[1]


def boots_with_systemd(appliers):
    """Whether systemd-sysctl applies the files at boot (the rules of _boot_rules.boot_config)."""
    return bool(appliers) and appliers[0]['name'] == SYSTEMD


class Chain(object):
    """The state of each key while the chain runs: value text (None: unknown) and who wrote it last."""

    def __init__(self, keys, defaults, accepts):
        self.accepts = accepts
        self.state = dict((key, {'value': defaults[key], 'file': None, 'line': None, 'profile': None,
                                 'applier': None, 'via': None, 'note': None}) for key in keys)

    def write(self, key, value, origin, applier, one_write=False):
        """One write of ``value``; refused values leave the key as it was."""
        if value == '' and applier == TUNED:
            return  # Python writes nothing for an empty string
        note = None
        if one_write and len(value.encode('utf-8')) > ONE_WRITE:
            value, note = first_write(value)
        if not self.accepts(key, value):
            return
        self.state[key] = {'value': value, 'file': origin.get('file'), 'line': origin.get('line'),
                           'profile': origin.get('profile'), 'applier': applier, 'via': origin.get('via'),
                           'note': note}

    def unknown(self, key, applier, note):
        self.state[key] = {'value': None, 'file': None, 'line': None, 'profile': None, 'applier': applier,
                           'via': None, 'note': note}


def first_write(value):
    """What the kernel keeps of a port list sent with one write(): (value, note).

    It reads at most 4095 bytes and drops an entry that may go on in the next
    write, which never comes (measured, Linux 6.18): a single port must end at
    least two bytes, a range at least one byte, before that limit.
    """
    window = value[:ONE_WRITE]
    kept = []
    position = 0
    for token in window.split(','):
        end = position + len(token)
        if end > ONE_WRITE - (1 if '-' in token else 2):
            break
        kept.append(token)
        position = end + 1
    text = ','.join(kept)
    return text, ('with one write(): the kernel keeps the first %d of its %d bytes' % (len(text), len(value)))


def _run_boot(chain, appliers, keys, root, replace, removed, systemd_boot):
    applier = appliers[0] if appliers and appliers[0]['name'] != TUNED else None
    if applier is None:
        return
    if applier['name'] == SYSTEMD:
        boot = systemd_boot if systemd_boot is not None else _boot_rules.boot_config(
            keys, root, replace=replace, accepts=chain.accepts, skip=removed)
        for key in keys:
            winner = boot[key]['winner']
            if winner is not None:
                chain.write(key, winner['value'], winner, SYSTEMD)
    elif applier['name'] == PROCPS:
        system = _boot_rules.sysctl_system_config(keys, root, replace=replace, accepts=chain.accepts, skip=removed)
        for key in keys:
            winner = system[key]['winner']
            if winner is not None:
                chain.write(key, winner['value'], winner, PROCPS, one_write=True)
    else:
        for key in keys:
            chain.unknown(key, applier['name'], applier['source'])


def _run_tuned(chain, tuned, keys, root, replace, removed):
    """tuned's writes: nothing when it cannot start or load its profile (``note`` says why)."""
    version = tuple(int(x) for x in tuned['version'].split('.')) if tuned.get('version') else None
    if tuned['reapply_sysctl'] is None or (tuned['modelled'] and tuned['note']):
        return
    if tuned['profile']:
        writes = _tuned.profile_writes(root, tuned['profile'].split(), version, _tuned.main_config(root)['profile_dirs'])
        for written, origin in writes:
            for key in keys:
                if _tuned.reaches(written, key, version):
                    _tuned_write(chain, key, origin)
    else:
        for key in keys:
            chain.unknown(key, TUNED, tuned['note'])
    if tuned['reapply_sysctl']:
        for written, origin in _tuned.reapply_writes(root, replace, removed):
            for key in keys:
                if _tuned.reaches(written, key, version):
                    chain.write(key, origin['value'], origin, TUNED)


def _tuned_write(chain, key, origin):
    value = origin['value']
    if '${' in value or (len(value) > 1 and value[0] in '<>'):
        chain.unknown(key, TUNED, '%s line %d: %r uses a tuned variable or comparison, which is not modelled'
                      % (origin['file'], origin['line'], value))
        chain.state[key].update(file=origin['file'], line=origin['line'], profile=origin['profile'])
        return
    chain.write(key, value, origin, TUNED)


def after_boot(appliers, keys, root, accepts, defaults, replace=None, removed=(), systemd_boot=None):
    """For each key, what the host holds once every applier has run: {key: after-boot record}.

    A record is {'value' (text as written, None when unknown), 'file', 'line',
    'profile' (tuned's profile name for a profile line), 'applier' (None: the
    kernel default), 'via' (the link a file was read through), 'note'}.
    ``accepts(key, value)``: whether the kernel takes a value; ``defaults``:
    {key: the kernel default's text}; ``replace``: (path, text) about to be
    written; ``removed``: files about to be removed; ``systemd_boot``: the
    caller's _boot_rules.boot_config answer, when it has one.
    """
    chain = Chain(keys, defaults, accepts)
    _run_boot(chain, appliers, keys, root, replace, removed, systemd_boot)
    for applier in appliers:
        if applier['name'] == TUNED:
            _run_tuned(chain, applier, keys, root, replace, removed)
    return chain.state


def public(record):
    """An after-boot record as the module results show it."""
    return dict((name, record[name]) for name in ('value', 'file', 'line', 'profile', 'applier', 'note'))


def _ours(record, path, root):
    if record['file'] is None:
        return False
    real = os.path.realpath(under_root(root, path))
    return path in (record['file'], record['via']) or os.path.realpath(
        under_root(root, record['file'])) == real


def _short(value, limit=60):
    return value if len(value) <= limit else value[:limit] + '...'


def _tuned_of(appliers):
    return next((a for a in appliers if a['name'] == TUNED), {})


def _why(appliers, record, key, path, root):
    """The message for a line later in the chain that undoes ``path``'s value of ``key``."""
    where = '%s line %d sets %s = %s' % (record['file'], record['line'], key, _short(record['value']))
    tuned = _tuned_of(appliers)
    if record['applier'] == PROCPS:
        fix = ('move that line to a sysctl.d file that sorts before %s, or remove it' % os.path.basename(path)
               if record['file'] == _boot_rules.SYSCTL_CONF else 'remove that line, or give path a name that sorts later')
        return ('%s: at every boot /etc/init.d/procps runs "sysctl --system" (no systemd here), which applies it '
                'after %s (/etc/sysctl.conf last, even when 99-sysctl.conf links to it); %s' % (where, path, fix))
    if record['profile']:
        if os.path.dirname(path) not in _tuned.REAPPLY_DIRS:
            why, alt = ("tuned's reapply never reads %s" % os.path.dirname(path),
                        'or give path a file in /etc/sysctl.d, which tuned re-applies after its profile')
        else:
            why, alt = ('reapply_sysctl = 0 in %s: tuned does not re-apply %s' % (_tuned.MAIN_CONF, path),
                        'or set reapply_sysctl = 1 there, so tuned re-applies %s after the profile' % path)
        return ('%s in the tuned profile %s, which tuned applies after every boot and profile switch (%s); '
                'remove that line from the profile, %s' % (where, tuned.get('profile'), why, alt))
    return ('%s: tuned (profile %s) re-applies /run/sysctl.d and /etc/sysctl.d by file name, then /etc/sysctl.conf, '
            'after every boot and profile switch, so that line comes after %s; move it to a sysctl.d file that '
            'sorts before %s, remove it, or set reapply_sysctl = 0 in %s'
            % (where, tuned.get('profile'), path, os.path.basename(path), _tuned.MAIN_CONF))


def override_problems(appliers, after, keys, path, root='/', systemd_boot=None):
    """What later in the chain than systemd-sysctl would undo ``path``'s values after boot: [message].

    systemd-sysctl's own winner is not repeated (the modules' boot check names
    it); a tuned line that is that same winner is not repeated either.
    """
    problems = []
    for key in keys:
        record = after[key]
        if record['value'] is None or record['applier'] == SYSTEMD or (
                record['applier'] is None and boots_with_systemd(appliers)):
            continue
        winner = (systemd_boot or {}).get(key, {}).get('winner')
        if winner is not None and (winner['file'], winner['line']) == (record['file'], record['line']):
            continue
        if record['applier'] is None:
            problems.append('%s would not be set at boot by %s: %s' % (key, path, boot_note(root) or 'no file sets it'))
        elif not _ours(record, path, root):
            problems.append(_why(appliers, record, key, path, root))
        elif record['note']:
            problems.append('%s sets %s to a long list, but at boot /etc/init.d/procps (no systemd here) applies '
                            'it %s, so the ports after those are not reserved after a reboot; use fewer, wider '
                            'ranges (the value must stay under 4095 bytes)' % (path, key, record['note']))
    return problems


def unknown_warnings(after, keys):
    """Warnings for keys whose value after boot the chain cannot say (an applier that is not modelled)."""
    warnings = []
    for key in keys:
        if after[key]['value'] is None:
            warnings.append('the value of %s after boot is not known: %s (%s)'
                            % (key, after[key]['note'], after[key]['applier']))
    return warnings
