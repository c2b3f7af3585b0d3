# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only snapshot of a host's ephemeral-port state, printed as JSON.

Runs ON THE TARGET with the standard library only (python3 >= 3.5), shipped by
tests/verify (base64 through ``host.run``) and by the molecule playbooks
(``ansible.builtin.script``).  It changes nothing.

    python3 state.py [EXTRA_PATH...]

Output keys:
  netns      identity of the network namespace (nsfs inode and device, link)
  live       raw values of ip_local_port_range and ip_local_reserved_ports, each
             read with ONE big read (the kernel answers only the first read of
             these files; open().read() or cat would truncate a long list)
  unprivileged_port_start
  files      every entry of the sysctl.d directories systemd-sysctl and procps
             read, /etc/sysctl.conf, the module's run-state directory and the
             EXTRA_PATHs: type, sha256 and size of files, link targets
  texts      the text of each EXTRA_PATH that is a readable file
  systemd    PID 1's name and, under systemd, systemd-sysctl.service's state
  nofile     RLIMIT_NOFILE (soft, hard)
  kernel     uname release
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import resource
import subprocess
import sys

RANGE = '/proc/sys/net/ipv4/ip_local_port_range'
RESERVED = '/proc/sys/net/ipv4/ip_local_reserved_ports'
UNPRIVILEGED = '/proc/sys/net/ipv4/ip_unprivileged_port_start'
DIRS = ('/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d')
FILES = ('/etc/sysctl.conf',)
RUN_STATE_DIR = '/run/portguard-ephemeral'


def read_proc(path):
    """One read() with a 1 MiB buffer: the whole value (the worst case is ~190 KB)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1 << 20).decode('ascii')
    finally:
        os.close(fd)


def describe(path):
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if os.path.islink(path):
        return {'type': 'link', 'target': os.readlink(path)}
    if os.path.isdir(path):
        return {'type': 'dir', 'mode': oct(st.st_mode & 0o7777)}
    digest = hashlib.sha256()
    try:
        with open(path, 'rb') as handle:
            for chunk in iter(lambda: handle.read(65536), b''):
                digest.update(chunk)
    except (IOError, OSError) as exc:
        return {'type': 'file', 'error': str(exc)}
    return {'type': 'file', 'size': st.st_size, 'sha256': digest.hexdigest(), 'mode': oct(st.st_mode & 0o7777)}


def walk(path, found):
    entry = describe(path)
    found[path] = entry
    if entry and entry['type'] == 'dir':
        for name in sorted(os.listdir(path)):
            walk(os.path.join(path, name), found)


def systemd_state():
    try:
        with open('/proc/1/comm') as handle:
            pid1 = handle.read().strip()
    except (IOError, OSError):
        pid1 = None
    state = {'pid1': pid1, 'running': os.path.isdir('/run/systemd/system'), 'sysctl_service': None}
    if state['running']:
        try:
            out = subprocess.check_output(
                ['systemctl', 'show', '-p', 'ActiveState', '-p', 'Result', '-p', 'ExecMainStatus',
                 'systemd-sysctl.service'], stderr=subprocess.STDOUT).decode('utf-8', 'replace')
            state['sysctl_service'] = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
        except (OSError, subprocess.CalledProcessError) as exc:
            state['sysctl_service'] = {'error': str(exc)}
    return state


def main(extra):
    st = os.stat('/proc/self/ns/net')
    files = {}
    for path in DIRS + FILES + (RUN_STATE_DIR,) + tuple(extra):
        walk(path, files)
    texts = {}
    for path in extra:
        try:
            with open(path, 'rb') as handle:
                texts[path] = handle.read().decode('utf-8', 'replace')
        except (IOError, OSError):
            texts[path] = None
    try:
        unprivileged = int(read_proc(UNPRIVILEGED).strip())
    except (IOError, OSError, ValueError):
        unprivileged = 1024
    result = {
        'netns': {'inode': st.st_ino, 'dev': st.st_dev, 'link': os.readlink('/proc/self/ns/net')},
        'live': {'range': read_proc(RANGE), 'reserved': read_proc(RESERVED)},
        'unprivileged_port_start': unprivileged,
        'files': files,
        'texts': texts,
        'systemd': systemd_state(),
        'nofile': list(resource.getrlimit(resource.RLIMIT_NOFILE)),
        'kernel': os.uname()[2],
    }
    sys.stdout.write(json.dumps(result, sort_keys=True) + '\n')


if __name__ == '__main__':
    main(sys.argv[1:])
