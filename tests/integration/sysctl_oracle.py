# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the real sysctl programs on a generated configuration tree, as test oracles.

``apply(os_root, tree, argv)`` starts a fresh network namespace and a private
mount namespace (``unshare --net --mount``), builds a throw-away root there:
an overlay of ``os_root`` (``/`` for this machine's programs, a debootstrapped
Debian root for another release's) on a tmpfs, with every directory and file
the programs read for sysctl configuration (/etc/sysctl.d, /run/sysctl.d,
/usr/local/lib/sysctl.d, /usr/lib/sysctl.d, /lib/sysctl.d, /etc/sysctl.conf)
replaced by the tree's; then runs ``argv`` chrooted into it and reads the two
keys back in the same namespace.  Nothing outside the namespaces changes.

For tuned (``TUNED``: systemd-sysctl, then tuned applying its profile once,
as at boot) /etc/tuned comes from the tree too and /usr/lib/tuned is emptied,
so the only profile is the tree's; ``os_root`` is then the tree of the image
localhost/portguard-debian:bookworm-tuned (scripts/procps-root.sh bookworm-tuned).

It fails closed: before running the program the inner script refuses (exit
97) when it is still in the machine's network namespace, and the guard
(exit 96) refuses unless every line of every file the program will read sets
one of the two per-namespace keys (``sysctl --system`` applies every key it
finds; a global key such as kernel.pid_max would change the machine), and
every tuned file is a profile of [main] summary and [sysctl] lines of those
keys, with ``daemon = 0``.  The chroot sees /proc/sys read-only except
/proc/sys/net, and no /sys: a program that tried a machine-wide setting fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import sys
import tempfile

RES = 'net.ipv4.ip_local_reserved_ports'
RNG = 'net.ipv4.ip_local_port_range'
# Keys and glob patterns a tree may hold: each reaches only a per-namespace key.
ALLOWED_KEYS = frozenset([RES, RNG, 'net.ipv4.ip_local_reserved_port?', 'net.ipv4.ip_local_reserved_por?s',
                          'net.ipv4.ip_local_port_rang[e]', 'net.ipv4.ip_local_port_ran?e'])
CONFIG_DIRS = ('etc/sysctl.d', 'run/sysctl.d', 'usr/local/lib/sysctl.d', 'usr/lib/sysctl.d', 'lib/sysctl.d')
SYSTEMD_SYSCTL = ['/lib/systemd/systemd-sysctl', '--prefix=/net/ipv4/ip_local_reserved_ports',
                  '--prefix=/net/ipv4/ip_local_port_range']
PROCPS_SYSTEM = ['/sbin/sysctl', '--system']
# The boot chain of a systemd host with tuned: systemd-sysctl, then tuned applying the active profile once
# (daemon = 0 in the tree's tuned-main.conf; no D-Bus, no socket).
TUNED_CHAIN = ['/bin/sh', '-c', '%s; exec /usr/sbin/tuned --no-dbus --no-socket' % ' '.join(SYSTEMD_SYSCTL)]
TUNED_MAIN_KEYS = frozenset(['daemon', 'dynamic_tuning', 'reapply_sysctl'])
HOST_NS_LINK = os.readlink('/proc/self/ns/net')


class NamespaceError(RuntimeError):
    pass


_INSIDE = r'''
set -eu
os_root=$1 tree=$2 sb=$3 host_ns=$4 guard=$5; shift 5
me=$(readlink /proc/self/ns/net)
if [ "$me" = "$host_ns" ]; then echo "sysctl_oracle: refusing: in the host network namespace" >&2; exit 97; fi
echo "netns=$me"
mount -t tmpfs -o mode=755 tmpfs "$sb"
mkdir "$sb/upper" "$sb/work" "$sb/root"
mount -t overlay overlay -o "lowerdir=$os_root,upperdir=$sb/upper,workdir=$sb/work" "$sb/root"
r=$sb/root
rm -rf "$r/etc/sysctl.d" "$r/etc/sysctl.conf" "$r/usr/local/lib/sysctl.d" "$r/usr/lib/sysctl.d" "$r/etc/tuned" \
       "$r/usr/lib/tuned" "$r/var/lib/tuned"
[ -L "$r/lib" ] || rm -rf "$r/lib/sysctl.d"
mkdir -p "$r/run" "$r/usr/local/lib" "$r/proc" "$r/dev"
# /run of the lower root may be in use (a machine without a /run tmpfs): cover it, never touch it.
mount -t tmpfs -o mode=755 tmpfs "$r/run"
cp -a "$tree/." "$r/"
mount -t proc proc "$r/proc"
# Only this namespace's net keys are writable in the chroot.
mount --bind "$r/proc/sys" "$r/proc/sys"
mount -o remount,bind,ro "$r/proc/sys"
mount --bind /proc/sys/net "$r/proc/sys/net"
[ -e "$r/dev/null" ] || : > "$r/dev/null"
mount --bind /dev/null "$r/dev/null"
"$guard" "$r" || { echo "sysctl_oracle: refusing: the tree sets keys that are not per-namespace" >&2; exit 96; }
[ "$(readlink /proc/self/ns/net)" = "$me" ] || exit 97
rc=0
chroot "$r" "$@" > "$sb/out" 2> "$sb/err" || rc=$?
echo "rc=$rc"
printf 'range=%s\n' "$(cat /proc/sys/net/ipv4/ip_local_port_range)"
printf 'reserved=%s\n' "$(cat /proc/sys/net/ipv4/ip_local_reserved_ports)"
echo '--- stdout'; cat "$sb/out"; echo '--- stderr'; cat "$sb/err"
'''


def _keys_in(text):
    """Every key or pattern a line sets or excludes, as sysctl.d(5) reads it."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in '#;':
            continue
        key = line.partition('=')[0].strip()
        if key.startswith('-'):
            key = key[1:].strip()
        dot, slash = key.find('.'), key.find('/')
        if slash >= 0 and (dot < 0 or slash < dot):
            key = key.replace('/', '.')
        yield key


def guard(root):
    """Problems with the files under ``root`` that the programs read; empty when only our keys are set."""
    problems = []
    paths = []
    for directory in CONFIG_DIRS:
        full = os.path.join(root, directory)
        if os.path.isdir(full):
            paths.extend(os.path.join(full, name) for name in sorted(os.listdir(full)) if name.endswith('.conf'))
    paths.append(os.path.join(root, 'etc/sysctl.conf'))
    for path in paths:
        real = os.path.realpath(path)
        if real == '/dev/null' or not os.path.exists(path):
            continue
        if not real.startswith(os.path.realpath(root) + os.sep):
            problems.append('%s points outside the tree (%s)' % (path, real))
            continue
        if os.path.isdir(real):
            continue
        with open(real, 'rb') as handle:
            text = handle.read().decode('utf-8', 'replace')
        for key in _keys_in(text):
            if key not in ALLOWED_KEYS:
                problems.append('%s sets %r' % (path, key))
    return problems + _tuned_problems(root)


def _ini_lines(text):
    """(section, key, value or None) for each line that is not blank or a comment."""
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('[') and line.endswith(']'):
            section = line[1:-1]
            continue
        key, sep, value = line.partition('=')
        yield section, key.strip(), value.strip() if sep else None


def _allowed(key):
    key = key.lstrip('-').strip()
    dot, slash = key.find('.'), key.find('/')
    if slash >= 0 and (dot < 0 or slash < dot):
        key = key.replace('/', '.')
    return key in ALLOWED_KEYS


def _tuned_problems(root):
    """Problems with the tuned files under ``root``: only test profiles of per-namespace sysctls may be there."""
    problems = []
    shipped = os.path.join(root, 'usr/lib/tuned')
    for base, _dirs, names in os.walk(shipped):
        problems.extend('%s: a shipped tuned file' % os.path.join(base, name) for name in names)
    tuned_dir = os.path.join(root, 'etc/tuned')
    if not os.path.isdir(tuned_dir):
        return problems
    main = os.path.join(tuned_dir, 'tuned-main.conf')
    if not os.path.isfile(main):
        problems.append('%s missing: tuned needs daemon = 0' % main)
    for base, _dirs, names in os.walk(tuned_dir):
        for name in names:
            path = os.path.join(base, name)
            rel = os.path.relpath(path, tuned_dir)
            if os.path.islink(path):
                problems.append('%s is a link' % path)
                continue
            with open(path, 'rb') as handle:
                text = handle.read().decode('utf-8', 'replace')
            if rel == 'tuned-main.conf':
                settings = list(_ini_lines(text))
                problems.extend('%s sets %r' % (path, k) for _s, k, _v in settings if k not in TUNED_MAIN_KEYS)
                if ('daemon', '0') not in [(k, v) for _s, k, v in settings]:
                    problems.append('%s lacks daemon = 0' % path)
            elif rel in ('active_profile', 'profile_mode'):
                continue
            elif name == 'tuned.conf' and os.path.dirname(rel) and '/' not in os.path.dirname(rel):
                for section, key, _value in _ini_lines(text):
                    if not ((section == 'main' and key == 'summary') or (section == 'sysctl' and _allowed(key))):
                        problems.append('%s sets %r in [%s]' % (path, key, section))
            else:
                problems.append('%s is not a test profile or tuned-main.conf' % path)
    return problems


def _guard_script():
    """A tiny executable that runs guard() on its argument (called inside the namespaces)."""
    fd, path = tempfile.mkstemp(prefix='sysctl-oracle-guard-', suffix='.py')
    with os.fdopen(fd, 'w') as handle:
        handle.write('#!%s\nimport sys\nsys.path.insert(0, %r)\nimport sysctl_oracle\n'
                     'problems = sysctl_oracle.guard(sys.argv[1])\n'
                     'sys.stderr.write("".join(p + "\\n" for p in problems))\n'
                     'sys.exit(1 if problems else 0)\n' % (sys.executable, os.path.dirname(os.path.abspath(__file__))))
    os.chmod(path, 0o700)
    return path


def apply(os_root, tree, argv, timeout=120):
    """Run ``argv`` on ``tree`` in a fresh network namespace; return the values it left.

    Returns {'rc', 'range': (low, high), 'reserved': text, 'stdout', 'stderr', 'netns'}.
    Raises NamespaceError when a safety check refused to run it.
    """
    if os.geteuid() != 0:
        raise NamespaceError('the sysctl oracle needs root (namespaces, mounts)')
    problems = guard(tree)
    if problems:
        raise NamespaceError('refusing to apply a tree with other keys: %s' % '; '.join(problems))
    sandbox = tempfile.mkdtemp(prefix='sysctl-oracle-')
    guard_path = _guard_script()
    try:
        proc = subprocess.run(
            ['unshare', '--net', '--mount', '--propagation', 'private', 'sh', '-c', _INSIDE, 'sysctl-oracle',
             os.path.abspath(os_root), os.path.abspath(tree), sandbox, HOST_NS_LINK, guard_path] + list(argv),
            capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        os.unlink(guard_path)
        shutil.rmtree(sandbox, ignore_errors=True)
    if proc.returncode in (96, 97):
        raise NamespaceError('sysctl oracle refused (rc %d): %s' % (proc.returncode, proc.stderr.strip()))
    if proc.returncode != 0:
        raise RuntimeError('sysctl oracle failed (rc %d): %s %s' % (proc.returncode, proc.stdout, proc.stderr))
    head, _sep, rest = proc.stdout.partition('--- stdout\n')
    out, _sep, err = rest.partition('--- stderr\n')
    fields = dict(line.split('=', 1) for line in head.splitlines() if '=' in line)
    if fields.get('netns') in (None, HOST_NS_LINK):
        raise NamespaceError('sysctl oracle ran in %r, the host namespace' % fields.get('netns'))
    return {'rc': int(fields['rc']), 'range': tuple(int(x) for x in fields['range'].split()),
            'reserved': fields['reserved'], 'stdout': out, 'stderr': err, 'netns': fields['netns']}


def version(os_root, argv=('/sbin/sysctl', '--version')):
    """A program's version line, run chrooted into ``os_root`` (read-only, no namespaces needed)."""
    return subprocess.run(['chroot', os.path.abspath(os_root)] + list(argv), capture_output=True, text=True,
                          check=True).stdout.strip()
