# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throw-away targets: a private network namespace with its own sysctl.d directories
(make demo, and the integration tests through tests/integration/nslab.py).

Every sysctl write goes through ``Lab.write_sysctl`` or runs inside ``Lab.run``;
both check, right before acting, that the process is in the lab's namespace and
not in the machine's own.  They fail closed.

A Lab is ``ip netns add pg-<random>`` plus a directory tree ``root`` whose
``etc/sysctl.d``, ``run/sysctl.d``, ``usr/lib/sysctl.d`` and ``etc/sysctl.conf``
are bind-mounted over the real ones in a private mount namespace for each
command run "inside".  Files put under ``root`` therefore look, to the module,
exactly like the host's sysctl configuration.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import uuid

RESERVED = '/proc/sys/net/ipv4/ip_local_reserved_ports'
RANGE = '/proc/sys/net/ipv4/ip_local_port_range'
# The namespace this process started in: the machine's own, never written.
HOST_NS_LINK = os.readlink('/proc/self/ns/net')

# Run inside: bind the lab's sysctl tree over the real one, check the namespace,
# then exec the command.  /run is the lab's own run/ (its run/sysctl.d and the
# module's /run/portguard-ephemeral state): private to the lab, and kept from
# one command to the next, as a host keeps /run until it reboots.
_INSIDE = r'''
set -eu
root="$1"; host_ns="$2"; shift 2
[ "$(readlink /proc/self/ns/net)" != "$host_ns" ] || { echo "nslab: refusing: still in the host network namespace" >&2; exit 97; }
mount --bind "$root/run" /run
mount --bind "$root/etc/sysctl.d" /etc/sysctl.d
mount --bind "$root/usr/lib/sysctl.d" /usr/lib/sysctl.d
mount --bind "$root/etc/sysctl.conf" /etc/sysctl.conf
exec "$@"
'''

# The same, but /run/netns (the `ip netns` mounts) stays visible under the
# lab's /run, so a controller run inside one lab can reach other labs by
# /run/netns/NAME (the role's reserved_ports_netns).  Lab.command(keep_netns=True).
_TMPFS_LINE = 'mount --bind "$root/run" /run\n'
_INSIDE_KEEP_NETNS = _INSIDE.replace(
    _TMPFS_LINE,
    'keep="$root/.nslab-run-netns"; mkdir -p "$keep"; mount --rbind /run/netns "$keep"\n'
    + _TMPFS_LINE
    + 'mkdir -p /run/netns; mount --rbind "$keep" /run/netns; umount -l "$keep"\n')
assert _INSIDE_KEEP_NETNS != _INSIDE

# Holds ephemeral ports with outgoing TCP connections, the way busy clients do.
# Role "listen": a listener that never accepts (completed connections wait in
# its accept queue, so the server side costs no file descriptors).
# The kernel gives connect() ports of LOW's parity first and bind(port 0) the
# other parity first; a connect() that finds its parity full scans all of it
# before trying the other one, so filling the range with connect() alone is
# quadratic (about a minute for the default range).  Hence two roles:
# "bind": bind(0) then connect() (as clients that bind first do) until bind(0)
# hands out a port of LOW's parity (the other parity is full); "connect":
# plain connect() until EADDRNOTAVAIL (the range is exhausted).  Both stop
# early when this process's descriptor limit is near.  Every client socket has
# SO_LINGER 0, so when the process ends its connections are reset and leave no
# TIME_WAIT behind.  Prints one JSON line, then waits for stdin to close.
_HOLD = r'''
import errno, json, os, resource, socket, struct, sys
role, port = sys.argv[1], int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft != hard:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = hard
netns = os.readlink('/proc/self/ns/net')
if role == 'listen':
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', port))
    srv.listen(65535)
    print(json.dumps({'pid': os.getpid(), 'netns': netns, 'listening': port}), flush=True)
else:
    with open('/proc/sys/net/ipv4/ip_local_port_range') as handle:
        low_parity = int(handle.read().split()[0]) % 2
    budget = max(soft - 64, 16)
    held, done, linger = [], False, struct.pack('ii', 1, 0)
    while len(held) < budget and not done:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        try:
            if role == 'bind':
                sock.bind(('127.0.0.1', 0))
                done = sock.getsockname()[1] % 2 == low_parity
            sock.connect(('127.0.0.1', port))
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EADDRINUSE):
                done = True
                break
            raise
        held.append(sock)
    print(json.dumps({'pid': os.getpid(), 'netns': netns, 'held': len(held), 'done': done}), flush=True)
sys.stdin.read()
'''

# What a restarting service does: bind() each port on 0.0.0.0 (with
# SO_REUSEADDR, like most servers) and listen.  Prints {port: null | "EADDRINUSE ..."}.
_TRY_LISTEN = r'''
import errno, json, socket, sys
result, socks = {}, []
for port in [int(p) for p in sys.argv[1:]]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(('0.0.0.0', port))
        sock.listen(16)
        result[port] = None
        socks.append(sock)
    except OSError as exc:
        result[port] = '%s %s' % (errno.errorcode.get(exc.errno, exc.errno), exc.strerror)
        sock.close()
print(json.dumps(result))
'''


class NamespaceError(RuntimeError):
    pass


def host_ns_link():
    return HOST_NS_LINK


def end_process(proc):
    """Kill ``proc`` (a Popen) if it still runs, wait for it, close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream:
            stream.close()


def ensure_root():
    if os.geteuid() != 0:
        raise NamespaceError('integration tests need root (network namespaces, mounts)')


def sysctl_tree(root):
    """Create an empty sysctl configuration tree under ``root``."""
    for sub in ('etc/sysctl.d', 'run/sysctl.d', 'usr/lib/sysctl.d', 'usr/local/lib/sysctl.d'):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    conf = os.path.join(root, 'etc/sysctl.conf')
    if not os.path.exists(conf):
        with open(conf, 'w') as handle:
            handle.write('# lab /etc/sysctl.conf\n')


class Lab(object):
    """One private network namespace and one private sysctl tree."""

    def __init__(self, name=None, root=None):
        ensure_root()
        self.name = name or 'pg-%s' % uuid.uuid4().hex[:10]
        self.path = '/run/netns/%s' % self.name
        self._own_root = root is None
        self.root = root or tempfile.mkdtemp(prefix='portguard-lab-')
        sysctl_tree(self.root)
        subprocess.run(['ip', 'netns', 'add', self.name], check=True)
        subprocess.run(['ip', 'netns', 'exec', self.name, 'ip', 'link', 'set', 'lo', 'up'], check=True)
        self.link = self._ns_link()
        if self.link == host_ns_link():
            self.close()
            raise NamespaceError('new namespace %s looks like the host namespace; refusing' % self.name)

    def _ns_link(self):
        out = subprocess.run(['nsenter', '--net=%s' % self.path, 'readlink', '/proc/self/ns/net'],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    # -- running things inside ------------------------------------------------
    def command(self, argv, keep_netns=False):
        """argv wrapped to run in the lab's netns with the lab's sysctl tree mounted.

        ``keep_netns``: keep /run/netns visible inside (other labs reachable by path).
        """
        script = _INSIDE_KEEP_NETNS if keep_netns else _INSIDE
        return (['nsenter', '--net=%s' % self.path, 'unshare', '--mount', '--propagation', 'private',
                 'sh', '-c', script, 'nslab', self.root, host_ns_link()] + list(argv))

    def run(self, argv, check=True, env=None, input=None, timeout=600, keep_netns=False):
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run(self.command(argv, keep_netns=keep_netns), capture_output=True, text=True,
                              env=full_env, input=input, timeout=timeout, check=False)
        if proc.returncode == 97:
            raise NamespaceError(proc.stderr)
        if check and proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, argv, proc.stdout, proc.stderr)
        return proc

    def python(self, code, *args, check=True):
        """Run Python code inside the lab (not via the test process)."""
        return self.run([sys.executable, '-c', code] + [str(a) for a in args], check=check)

    def spawn(self, argv, **popen_kwargs):
        """Start argv inside the lab in the background; the caller ends it (see PortHold.close)."""
        return subprocess.Popen(self.command(argv), **popen_kwargs)

    # -- ports --------------------------------------------------------------------
    def try_listen(self, ports):
        """bind() + listen() each port on 0.0.0.0 inside the lab, as a restarting service does.

        Returns {port: None (it started) or "EADDRINUSE Address already in use"}.
        """
        out = self.python(_TRY_LISTEN, *ports).stdout
        return dict((int(port), error) for port, error in json.loads(out).items())

    def hold_ephemeral_ports(self, listen_port=5000, timeout=120):
        """Exhaust the ephemeral range with outgoing TCP connections to a local listener.

        Returns a PortHold (a context manager); ``.held`` is the number of
        connections, each holding one ephemeral port until ``close()``.
        """
        return PortHold(self, listen_port, timeout)

    # -- sysctls ----------------------------------------------------------------
    def read_sysctl(self, path):
        """One large read of a /proc/sys file inside the lab."""
        code = ('import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); '
                'sys.stdout.write(os.read(fd, 1<<20).decode()); os.close(fd)')
        return self.python(code, path).stdout

    def reserved(self):
        return self.read_sysctl(RESERVED)

    def port_range(self):
        return tuple(int(x) for x in self.read_sysctl(RANGE).split())

    def write_sysctl(self, path, value):
        """Write ``value`` whole through one fd, after checking the namespace."""
        code = r'''
import os, sys
path, value, lab_link, host_link = sys.argv[1:5]
me = os.readlink('/proc/self/ns/net')
if me == host_link or me != lab_link:
    sys.stderr.write('nslab: refusing to write %s: in %s, expected %s (host %s)\n' % (path, me, lab_link, host_link))
    sys.exit(97)
data = value.encode()
fd = os.open(path, os.O_WRONLY)
try:
    while data:
        n = os.write(fd, data)
        data = data[n:]
finally:
    os.close(fd)
'''
        proc = self.run([sys.executable, '-c', code, path, value, self.link, host_ns_link()], check=False)
        if proc.returncode == 97:
            raise NamespaceError(proc.stderr)
        if proc.returncode != 0:
            raise OSError(proc.stderr.strip())

    def snapshot(self):
        """Live values and every file of the lab's sysctl tree, for byte-identical checks."""
        files = {}
        for base, _dirs, names in os.walk(self.root):
            for name in names:
                full = os.path.join(base, name)
                rel = os.path.relpath(full, self.root)
                if os.path.islink(full):
                    files[rel] = 'link:' + os.readlink(full)
                else:
                    with open(full, 'rb') as handle:
                        files[rel] = handle.read()
        return {'range': self.read_sysctl(RANGE), 'reserved': self.reserved(), 'files': files}

    def file(self, rel):
        return os.path.join(self.root, rel.lstrip('/'))

    def put(self, rel, text):
        full = self.file(rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'w') as handle:
            handle.write(text)
        return full

    def close(self):
        subprocess.run(['ip', 'netns', 'delete', self.name], check=False, capture_output=True)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PortHold(object):
    """Outgoing connections holding every free ephemeral port of a lab (see _HOLD)."""

    def __init__(self, lab, listen_port=5000, timeout=120):
        self.lab = lab
        self.procs = []
        self.held = 0
        try:
            # The listener never accepts: its queue must take every connection.
            lab.write_sysctl('/proc/sys/net/core/somaxconn', '65535')
            self._start('listen', listen_port, timeout)
            for role in ('bind', 'connect'):
                while True:
                    report = self._start(role, listen_port, timeout)
                    self.held += report['held']
                    if report['done']:
                        break
                    if report['held'] == 0 or len(self.procs) > 256:
                        raise RuntimeError('could not exhaust the ephemeral range: %r' % report)
        except BaseException:
            self.close()
            raise

    def _start(self, role, port, timeout):
        proc = self.lab.spawn([sys.executable, '-u', '-c', _HOLD, role, str(port)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        ready, _w, _x = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline() if ready else ''
        if not line:
            raise RuntimeError('port holder (%s) gave no answer: %s' % (role, proc.stderr.read()[-2000:]
                                                                        if proc.poll() is not None else 'timeout'))
        report = json.loads(line)
        if report['netns'] != self.lab.link or report['netns'] == host_ns_link():
            raise NamespaceError('port holder runs in %s, not in the lab %s' % (report['netns'], self.lab.link))
        return report

    def close(self):
        """End the holders (newest first); their connections are reset, no TIME_WAIT."""
        for proc in reversed(self.procs):
            end_process(proc)
        self.procs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
