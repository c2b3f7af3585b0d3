# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portguard.ephemeral.local_ports_info against the real kernel, inside private namespaces.

Sockets are held by a helper process running inside the lab (``SocketHolder``)
while ansible-playbook runs the module there too; the helper answers one JSON
line per command on stdout.  Where the module says a restart "would fail now",
the test also tries the bind() in the lab and checks that it really fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import select
import subprocess
import sys

import pytest

import nslab
import sysctl_oracle

RANGE = nslab.RANGE
RESERVED = nslab.RESERVED
PLAYBOOK = 'local_ports_info.yml'
OWN_FILE = '/etc/sysctl.d/zz-portguard-ephemeral.conf'

# Runs inside the lab.  Commands on stdin, one JSON line per answer on stdout.
HELPER = r'''
import errno, json, os, resource, socket, struct, sys, time

FAMILY = {'4': socket.AF_INET, '6': socket.AF_INET6}
socks = {}

def reply(**kw):
    sys.stdout.write(json.dumps(kw) + '\n')
    sys.stdout.flush()

def tables():
    out = []
    for name in ('tcp', 'tcp6', 'udp', 'udp6'):
        try:
            with open('/proc/thread-self/net/' + name) as handle:
                out.extend((name, line.split()) for line in handle.read().splitlines()[1:])
        except OSError:
            pass
    return out

def states_on(port):
    return sorted(set(f[3] for _n, f in tables() if int(f[1].split(':')[1], 16) == port))

def wait_for(port, want, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        now = states_on(port)
        if now == want:
            return now
        time.sleep(0.02)
    return states_on(port)

reply(ready=True, netns=os.readlink('/proc/self/ns/net'), pid=os.getpid())
for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    op = cmd[0]
    try:
        if op == 'listen':                      # listen NAME 4|6 ADDR PORT [BACKLOG]
            name, fam, addr, port = cmd[1], FAMILY[cmd[2]], cmd[3], int(cmd[4])
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.listen(int(cmd[5]) if len(cmd) > 5 else 64)
            socks[name] = s
            reply(port=s.getsockname()[1])
        elif op == 'connect':                   # connect NAME 4|6 ADDR PORT LISTENER (no bind: ephemeral port)
            name, fam, addr, port, lname = cmd[1], FAMILY[cmd[2]], cmd[3], int(cmd[4]), cmd[5]
            c = socket.socket(fam, socket.SOCK_STREAM)
            c.connect((addr, port))
            server, _peer = socks[lname].accept()
            socks[name] = c
            socks[name + '.server'] = server
            reply(port=c.getsockname()[1])
        elif op == 'close':                     # close NAME: client closes first -> client in TIME_WAIT
            name = cmd[1]
            c, server = socks.pop(name), socks.pop(name + '.server')
            port = c.getsockname()[1]
            c.close()
            assert server.recv(1) == b''
            server.close()
            reply(port=port, states=wait_for(port, ['06']))
        elif op == 'reset':                     # reset NAME: SO_LINGER 0 -> RST, no TIME_WAIT anywhere
            name = cmd[1]
            c, server = socks.pop(name), socks.pop(name + '.server')
            port = c.getsockname()[1]
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            c.close()
            try:
                server.recv(1)
            except ConnectionResetError:
                pass
            server.close()
            reply(port=port, states=wait_for(port, []))
        elif op == 'connect-many':              # connect-many NAME 4|6 ADDR PORT COUNT: never accepted, until
            name, fam, addr, port, count = cmd[1], FAMILY[cmd[2]], cmd[3], int(cmd[4]), int(cmd[5])
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)     # EADDRNOTAVAIL; the listener's
            if soft < count + 256:                                        # backlog must take them all
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 256), hard))
            if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < count + 256:
                raise RuntimeError('open-file limit %d too low for %d connections' % (hard, count))
            group, failure = socks.setdefault(name, []), None
            for _number in range(count):
                c = socket.socket(fam, socket.SOCK_STREAM)
                try:
                    c.connect((addr, port))
                except OSError as exc:
                    c.close()
                    failure = errno.errorcode.get(exc.errno, exc.errno)
                    break
                group.append(c)
            reply(ports=[c.getsockname()[1] for c in group], error_at_end=failure)
        elif op == 'reset-many':                # reset-many NAME COUNT: SO_LINGER 0 -> RST, no TIME_WAIT
            name, count = cmd[1], int(cmd[2])
            group = socks[name]
            for c in group[:count]:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                c.close()
            del group[:count]
            reply(ports=[c.getsockname()[1] for c in group])
        elif op == 'local-ports':               # local-ports: every socket's local port, all four tables
            reply(ports=sorted(set(int(f[1].split(':')[1], 16) for _n, f in tables())))
        elif op == 'udp-bind':                  # udp-bind NAME 4|6 ADDR PORT
            name, fam, addr, port = cmd[1], FAMILY[cmd[2]], cmd[3], int(cmd[4])
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind((addr, port))
            socks[name] = s
            reply(port=s.getsockname()[1])
        elif op == 'udp-connect':               # udp-connect NAME 4|6 ADDR PORT (autobind: ephemeral port)
            name, fam, addr, port = cmd[1], FAMILY[cmd[2]], cmd[3], int(cmd[4])
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.connect((addr, port))
            socks[name] = s
            reply(port=s.getsockname()[1])
        elif op == 'comm':                      # comm NAME: what /proc/PID/comm (and ss -p) shows
            with open('/proc/self/comm', 'w') as handle:
                handle.write(cmd[1])
            reply(comm=open('/proc/self/comm').read().strip())
        elif op == 'exit':
            reply(bye=True)
            break
        else:
            reply(error='unknown command %r' % op)
    except Exception as exc:  # report, keep serving
        reply(error='%s: %s' % (type(exc).__name__, exc))
'''

# Tries what a restarting service does: bind() the port (with SO_REUSEADDR) and listen.
BIND_PROBE = r'''
import errno, socket, sys
fam = socket.AF_INET6 if sys.argv[2] == '6' else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(('::' if fam == socket.AF_INET6 else '0.0.0.0', int(sys.argv[1])))
    s.listen(1)
    print('ok')
except OSError as exc:
    print(errno.errorcode.get(exc.errno, exc.errno))
'''


class SocketHolder(object):
    """The helper process inside the lab; killed by close()."""

    def __init__(self, lab):
        self.lab = lab
        self.proc = subprocess.Popen(lab.command([sys.executable, '-u', '-c', HELPER]),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        hello = self._read()
        if hello.get('netns') != lab.link or hello.get('netns') == nslab.host_ns_link():
            self.close()
            raise nslab.NamespaceError('socket helper runs in %s, not in the lab %s' % (hello.get('netns'), lab.link))
        self.pid = hello['pid']

    def _read(self, timeout=30):
        ready, _w, _x = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ''
        if not line:
            self.proc.kill()
            raise AssertionError('socket helper gave no answer; stderr: %s' % self.proc.stderr.read()[-3000:])
        return json.loads(line)

    def do(self, *words):
        self.proc.stdin.write(' '.join(str(w) for w in words) + '\n')
        self.proc.stdin.flush()
        answer = self._read()
        assert 'error' not in answer, answer
        return answer

    def close(self):
        nslab.end_process(self.proc)


@pytest.fixture
def holder(lab):
    instance = SocketHolder(lab)
    yield instance
    instance.close()


def info(lab, playbooks, check=False, expect_failure=False, **options):
    """Run the module inside the lab; return its result (asserting rc and changed)."""
    run = lab.playbook(os.path.join(playbooks, PLAYBOOK), {'lpi': options}, check=check)
    result = run.result('Examine')
    if expect_failure:
        assert run.rc != 0 and result.get('failed'), run
        return result
    assert run.rc == 0, run
    assert result.get('failed') is not True, run
    assert result['changed'] is False
    assert run.stats.get('changed') == 0, run.stats
    return result


def where(listeners):
    """The protocol and address of each listener (the rest is checked where it matters)."""
    return [{'protocol': item['protocol'], 'address': item['address']} for item in listeners]


def port_entry(result, port):
    matches = [entry for entry in result['ports'] if entry['port'] == port]
    assert len(matches) == 1, (port, [entry['port'] for entry in result['ports']])
    return matches[0]


def bind_result(lab, port, family='4'):
    return lab.python(BIND_PROBE, port, family).stdout.strip()


def local_ports(lab, playbooks, expect_rc=0, args=(), **options):
    return lab.playbook(os.path.join(playbooks, 'local_ports.yml'), {'lp': options} if options else None,
                        args=args, expect_rc=expect_rc)


def test_classic_clash(lab, holder, playbooks):
    """An outgoing connection takes P from a narrow range; ESTABLISHED, TIME_WAIT, reserved, gone."""
    lab.write_sysctl(RANGE, '40000 40009')
    assert lab.port_range() == (40000, 40009)
    server = holder.do('listen', 'srv', 4, '127.0.0.1', 5000)['port']
    port = holder.do('connect', 'c1', 4, '127.0.0.1', server, 'srv')['port']
    assert 40000 <= port <= 40009

    result = info(lab, playbooks, examine=[port, server])
    assert result['range'] == [40000, 40009]
    assert result['netns']['link'] == lab.link
    entry = port_entry(result, port)
    assert entry['in_range'] is True and entry['reserved_live'] is False
    assert entry['in_range_boot'] is True and entry['reserved_boot'] is False   # no file: kernel default
    assert entry['listeners'] == []
    assert entry['holder_count'] == 1
    held = entry['holders'][0]
    assert (held['protocol'], held['state'], held['remote'], held['local']) == (
        'tcp', 'ESTABLISHED', '127.0.0.1:%d' % server, '127.0.0.1:%d' % port)
    assert held['inode'] > 0
    assert entry['at_risk'] is True
    assert entry['reason'] == 'held by an outgoing connection in ESTABLISHED: a restart would fail now'
    # The server port: its listener and the accepted connection, outside the range.
    srv = port_entry(result, server)
    assert where(srv['listeners']) == [{'protocol': 'tcp', 'address': '127.0.0.1'}]
    assert [h['remote'] for h in srv['holders']] == ['127.0.0.1:%d' % port]
    assert (srv['at_risk'], srv['reason']) == (False, 'outside the ephemeral range')
    # What the module says is what the kernel does.
    assert bind_result(lab, port) == 'EADDRINUSE'

    # Client closes first: its end stays in TIME_WAIT, owned by no process.
    assert holder.do('close', 'c1')['states'] == ['06']
    result = info(lab, playbooks, examine=[port])
    entry = port_entry(result, port)
    assert [(h['state'], h['remote'], h['inode']) for h in entry['holders']] == [
        ('TIME_WAIT', '127.0.0.1:%d' % server, 0)]
    assert entry['holder_states'] == {'tcp TIME_WAIT': 1}
    assert entry['at_risk'] is True
    assert entry['reason'] == 'held by an outgoing connection in TIME_WAIT: a restart would fail now'
    assert bind_result(lab, port) == 'EADDRINUSE'

    # Reserve P with local_ports: the kernel stops choosing it, but the TIME_WAIT still holds it.
    local_ports(lab, playbooks, reserved=[port], min_ephemeral=1)
    assert port in nslab.kernel_set(lab.reserved())
    result = info(lab, playbooks, examine=[port])
    entry = port_entry(result, port)
    assert entry['reserved_live'] is True and entry['reserved_boot'] is True
    assert entry['at_risk'] is True and 'TIME_WAIT' in entry['reason']
    assert result['boot']['net.ipv4.ip_local_reserved_ports']['file'] == OWN_FILE

    # A second outgoing connection gets another port Q (P is reserved); reserve Q while it is held.
    other = holder.do('connect', 'c2', 4, '127.0.0.1', server, 'srv')['port']
    assert other != port and 40000 <= other <= 40009
    local_ports(lab, playbooks, reserved=[port, other], min_ephemeral=1)
    entry = port_entry(info(lab, playbooks, examine=[other]), other)
    assert entry['reserved_live'] is True
    assert (entry['at_risk'], entry['reason']) == (
        True, 'held by an outgoing connection in ESTABLISHED: a restart would fail now')
    # Reset it (SO_LINGER 0: no TIME_WAIT): nothing holds Q, it is reserved, the service can bind.
    assert holder.do('reset', 'c2')['states'] == []
    result = info(lab, playbooks, examine=[port, other])
    entry = port_entry(result, other)
    assert entry['holders'] == [] and entry['holder_count'] == 0
    assert (entry['at_risk'], entry['reason']) == (False, 'reserved')
    assert entry['reserved_boot'] is True
    assert bind_result(lab, other) == 'ok'
    # P is still in TIME_WAIT and still reported.
    assert port_entry(result, port)['at_risk'] is True
    assert result['drift']['detected'] is True     # the narrow range was set live only
    assert result['drift']['range'] == {'live': [40000, 40009], 'boot': [32768, 60999]}
    assert result['drift']['reserved'] is None


def test_unreserved_port_in_range_without_sockets(lab, playbooks):
    lab.write_sysctl(RANGE, '40000 40999')
    result = info(lab, playbooks, examine='40500,41000,2000-2001')
    assert [e['port'] for e in result['ports']] == [2000, 2001, 40500, 41000]
    assert (port_entry(result, 40500)['at_risk'], port_entry(result, 40500)['reason']) == (
        True, 'in the ephemeral range and not reserved')
    # 41000 is outside the live range but inside the boot range (kernel default): at risk after a reboot.
    entry = port_entry(result, 41000)
    assert entry['in_range'] is False and entry['in_range_boot'] is True
    assert entry['at_risk'] is True and entry['reason'].startswith('outside the ephemeral range now')
    assert (port_entry(result, 2000)['at_risk'], port_entry(result, 2000)['reason']) == (
        False, 'outside the ephemeral range')
    assert result['ephemeral_ports'] == 1000
    assert result['reserved'] == {'canonical': '', 'ranges': [], 'count': 0}


def test_boot_precedence_override_mask_and_link(lab, playbooks):
    lab.put('usr/lib/sysctl.d/50-app.conf', 'net.ipv4.ip_local_reserved_ports = 8080\n')
    lab.put('etc/sysctl.d/60-later.conf', '# sorts after 50-app.conf, so it wins\n\n'
                                          'net.ipv4.ip_local_reserved_ports = 9090,9092\n')
    lab.put('usr/lib/sysctl.d/70-masked.conf', 'net.ipv4.ip_local_reserved_ports = 7070\n')
    os.symlink('/dev/null', lab.file('etc/sysctl.d/70-masked.conf'))
    lab.put('usr/lib/sysctl.d/40-vendor.conf', 'net.ipv4.ip_local_port_range = 50000 60999\n')
    lab.put('etc/sysctl.d/40-vendor.conf', 'net.ipv4.ip_local_port_range = 45000 60999\n')
    lab.put('etc/sysctl.conf', '# lab sysctl.conf\nnet.ipv4.ip_local_port_range = 40000 60999\n')
    os.symlink('../sysctl.conf', lab.file('etc/sysctl.d/99-sysctl.conf'))
    before = lab.snapshot()

    result = info(lab, playbooks, examine=[8080, 9090, 9091, 7070])
    reserved = result['boot']['net.ipv4.ip_local_reserved_ports']
    assert (reserved['file'], reserved['line'], reserved['value'], reserved['source']) == (
        '/etc/sysctl.d/60-later.conf', 3, '9090,9092', 'file')
    statuses = dict((e['file'], (e['status'], e['by'])) for e in reserved['entries'])
    assert statuses == {
        '/usr/lib/sysctl.d/50-app.conf': ('overridden', '/etc/sysctl.d/60-later.conf'),
        '/etc/sysctl.d/60-later.conf': ('winner', None),
        '/usr/lib/sysctl.d/70-masked.conf': ('masked', '/etc/sysctl.d/70-masked.conf'),
    }
    assert {'file': '/etc/sysctl.d/70-masked.conf', 'hides': ['/usr/lib/sysctl.d/70-masked.conf']} in reserved['masked']

    port_range = result['boot']['net.ipv4.ip_local_port_range']
    assert (port_range['file'], port_range['line'], port_range['via'], port_range['value']) == (
        '/etc/sysctl.d/99-sysctl.conf', 2, '/etc/sysctl.conf', '40000 60999')
    statuses = dict((e['file'], (e['status'], e['by'])) for e in port_range['entries'])
    assert statuses == {
        '/etc/sysctl.d/40-vendor.conf': ('overridden', '/etc/sysctl.d/99-sysctl.conf'),
        '/usr/lib/sysctl.d/40-vendor.conf': ('hidden', '/etc/sysctl.d/40-vendor.conf'),
        '/etc/sysctl.d/99-sysctl.conf': ('winner', None),
    }
    assert port_range['procps_override'] is None   # sysctl.conf is read through the link

    # Live is the fresh namespace (kernel defaults): both keys drifted.
    drift = result['drift']
    assert drift['detected'] is True
    assert drift['range'] == {'live': [32768, 60999], 'boot': [40000, 60999]}
    assert (drift['reserved']['missing']['canonical'], drift['reserved']['missing']['count'],
            drift['reserved']['extra']['canonical'], drift['reserved']['extra']['count']) == ('9090,9092', 2, '', 0)
    assert port_entry(result, 9090)['reserved_boot'] is True
    assert port_entry(result, 9091)['reserved_boot'] is False
    assert port_entry(result, 8080)['reserved_boot'] is False     # overridden: not reserved at boot
    assert port_entry(result, 7070)['reserved_boot'] is False     # masked
    # Reserved ports outside the boot range are a fact (drift above), not a warning on every audit.
    assert not any('outside' in w for w in result.get('warnings', [])), result.get('warnings')
    assert lab.snapshot() == before


def test_procps_override_and_invalid_boot_value(lab, playbooks):
    # No 99-sysctl.conf link: systemd-sysctl never reads /etc/sysctl.conf, procps --system does.
    lab.put('etc/sysctl.conf', 'net.ipv4.ip_local_reserved_ports = 8080\n')
    # Quoted values are EINVAL at boot: the key keeps its default.
    lab.put('etc/sysctl.d/50-quoted.conf', 'net.ipv4.ip_local_port_range = "40000 60999"\n')
    result = info(lab, playbooks, examine=[8080])
    reserved = result['boot']['net.ipv4.ip_local_reserved_ports']
    assert reserved['source'] == 'kernel default' and reserved['value'] == '' and reserved['file'] is None
    assert reserved['procps_override'] == {'file': '/etc/sysctl.conf', 'line': 1, 'value': '8080'}
    port_range = result['boot']['net.ipv4.ip_local_port_range']
    assert port_range['file'] == '/etc/sysctl.d/50-quoted.conf' and port_range['valid'] is False
    assert port_range['error']
    assert result['drift']['detected'] is False     # both boot values are the kernel defaults
    warnings = ' | '.join(result.get('warnings', []))
    assert '/etc/sysctl.conf line 1' in warnings and '50-quoted.conf line 1' in warnings


def test_sysctl_system_winner_and_risk_when_sysctl_conf_is_linked(lab, playbooks):
    # Issue 11 #13: systemd-sysctl lets our file win at boot; sysctl --system applies /etc/sysctl.conf last.
    local_ports(lab, playbooks, reserved=[40000])
    lab.put('etc/sysctl.conf', '# admin\nnet.ipv4.ip_local_reserved_ports = 7000\n')
    os.symlink('../sysctl.conf', lab.file('etc/sysctl.d/99-sysctl.conf'))
    result = info(lab, playbooks, examine=[40000, 7000])
    reserved = result['boot']['net.ipv4.ip_local_reserved_ports']
    assert (reserved['file'], reserved['value']) == (OWN_FILE, '40000')
    assert reserved['procps_override'] is None          # reached through the link: the old check saw nothing
    assert reserved['sysctl_system'] == {'value': '7000', 'source': 'file', 'file': '/etc/sysctl.conf',
                                         'line': 2, 'via': None, 'differs': True, 'refused': []}
    port_range = result['boot']['net.ipv4.ip_local_port_range']['sysctl_system']
    assert port_range['source'] == 'unchanged' and port_range['differs'] is False
    entry = port_entry(result, 40000)
    assert (entry['reserved_live'], entry['reserved_boot'], entry['reserved_sysctl_system']) == (True, True, False)
    assert entry['at_risk'] is True and 'sysctl --system' in entry['reason']
    assert port_entry(result, 7000)['at_risk'] is False     # below the range either way
    # The real program agrees (in the lab's namespace, on a tree holding only per-namespace keys).
    assert sysctl_oracle.guard(lab.root) == []
    lab.run(['sysctl', '--system'])
    assert lab.reserved() == '7000\n'
    assert any('/etc/sysctl.conf line 2' in w and 'sysctl --system' in w for w in result['warnings'])


def test_drift_after_procps_truncates_the_worst_case_list(lab, playbooks):
    worst = ','.join(str(port) for port in range(1025, 65536, 2))
    assert len(worst) > 4095
    vars_file = lab.put('vars/worst.json', json.dumps({'lp': {'reserved': worst}}))
    local_ports(lab, playbooks, args=('-e', '@' + vars_file))
    applied = nslab.kernel_set(lab.reserved())
    assert len(applied) == 32256

    before = info(lab, playbooks, examine=[60001])
    assert before['drift']['detected'] is False
    assert before['reserved']['count'] == 32256
    assert before['boot']['net.ipv4.ip_local_reserved_ports']['file'] == OWN_FILE

    # What a later "sysctl --system" does to the value: one write(), the rest silently dropped.
    lab.run(['sysctl', '-q', '-p', OWN_FILE], check=False)
    kept = nslab.kernel_set(lab.reserved())
    assert 0 < len(kept) < 32256, len(kept)

    result = info(lab, playbooks, examine=[1025, 60001, 60002])
    drift = result['drift']
    assert drift['detected'] is True and drift['range'] is None
    assert drift['reserved']['missing']['count'] == 32256 - len(kept)
    assert drift['reserved']['extra']['count'] == 0 and drift['reserved']['extra']['canonical'] == ''
    assert nslab.kernel_set(drift['reserved']['missing']['canonical']) == set(range(1025, 65536, 2)) - kept
    assert result['reserved']['count'] == len(kept)
    lost = port_entry(result, 60001)
    assert (lost['reserved_live'], lost['reserved_boot'], lost['at_risk'], lost['reason']) == (
        False, True, True, 'in the ephemeral range and not reserved')
    assert port_entry(result, 60002)['reserved_boot'] is False
    assert port_entry(result, 1025)['reserved_live'] is True
    warnings = result.get('warnings', [])
    assert any(w.startswith('at boot: net.ipv4.ip_local_reserved_ports is') and 'over 4095' in w
               for w in warnings), warnings


def test_ipv6_and_udp_sockets_are_seen(lab, holder, playbooks):
    tcp6 = holder.do('listen', 'l6', 6, '::1', 7001)['port']
    client6 = holder.do('connect', 'c6', 6, '::1', tcp6, 'l6')['port']
    udp4 = holder.do('udp-bind', 'u4', 4, '127.0.0.1', 7002)['port']
    udp6 = holder.do('udp-bind', 'u6', 6, '::1', 7003)['port']
    udp_client = holder.do('udp-connect', 'uc', 4, '127.0.0.1', udp4)['port']
    dual = holder.do('listen', 'dual', 6, '::', 7004)['port']

    result = info(lab, playbooks, examine=[tcp6, client6, udp4, udp6, udp_client, dual])
    assert where(port_entry(result, tcp6)['listeners']) == [{'protocol': 'tcp6', 'address': '::1'}]
    assert where(port_entry(result, dual)['listeners']) == [{'protocol': 'tcp6', 'address': '::'}]
    entry = port_entry(result, client6)
    assert [(h['protocol'], h['state'], h['remote'], h['address']) for h in entry['holders']] == [
        ('tcp6', 'ESTABLISHED', '[::1]:%d' % tcp6, '::1')]
    assert entry['at_risk'] is True
    assert where(port_entry(result, udp4)['listeners']) == [{'protocol': 'udp', 'address': '127.0.0.1'}]
    assert where(port_entry(result, udp6)['listeners']) == [{'protocol': 'udp6', 'address': '::1'}]
    entry = port_entry(result, udp_client)
    assert [(h['protocol'], h['state'], h['remote']) for h in entry['holders']] == [
        ('udp', 'ESTABLISHED', '127.0.0.1:%d' % udp4)]
    assert entry['at_risk'] is True and entry['reason'] == (
        'held by an outgoing connection in ESTABLISHED (udp): a restart would fail now')
    counts = result['sockets']
    assert counts['tcp6'] >= 4 and counts['udp'] >= 2 and counts['udp6'] >= 1
    assert counts['total'] == sum(counts[p] for p in ('tcp', 'tcp6', 'udp', 'udp6'))

    # Without ports: every listening port, and nothing else.
    result = info(lab, playbooks)
    assert [e['port'] for e in result['ports']] == sorted([tcp6, udp4, udp6, dual])


def test_netns_option_reads_the_other_namespace(lab, playbooks):
    with nslab.Lab() as other:
        remote = SocketHolder(other)
        try:
            port = remote.do('listen', 'x', 4, '127.0.0.1', 7100)['port']
            path = '/proc/%d/ns/net' % remote.pid
            result = info(lab, playbooks, netns=path)
            assert result['netns']['link'] == other.link != lab.link
            assert result['netns']['path'] == path
            assert [e['port'] for e in result['ports']] == [port]
            entry = port_entry(result, port)
            assert where(entry['listeners']) == [{'protocol': 'tcp', 'address': '127.0.0.1'}]
            # Its process is found although the module entered the namespace with setns.
            assert entry['listeners'][0]['process']['pid'] == remote.pid
            assert entry['reserved_boot'] is None and entry['in_range_boot'] is None
            assert result['drift']['detected'] is None and result['drift']['note']
            # The namespace the module ran in has no such listener.
            assert info(lab, playbooks)['ports'] == []
        finally:
            remote.close()


def test_check_mode_is_the_same_and_changes_nothing(lab, holder, playbooks):
    lab.put('etc/sysctl.d/60-app.conf', 'net.ipv4.ip_local_reserved_ports = 9090\n')
    lab.write_sysctl(RESERVED, '9090,9094')
    holder.do('listen', 'srv', 4, '127.0.0.1', 9090)
    before = lab.snapshot()
    normal = info(lab, playbooks, examine=[9090, 9094])
    checked = info(lab, playbooks, check=True, examine=[9090, 9094])
    for key in ('range', 'reserved', 'ephemeral_ports', 'boot', 'drift', 'ports', 'netns'):
        assert checked[key] == normal[key], key
    assert (normal['drift']['reserved']['missing']['canonical'], normal['drift']['reserved']['missing']['count'],
            normal['drift']['reserved']['extra']['canonical'], normal['drift']['reserved']['extra']['count']) == ('', 0, '9094', 1)
    assert lab.snapshot() == before


@pytest.mark.parametrize('options, words', [
    ({'examine': '8080, 9090'}, ["examine: ' 9090'", 'white space']),
    ({'examine': [0]}, ['examine: 0', 'port 0']),
    ({'examine': ['9090-8080']}, ["examine: '9090-8080'", 'reversed']),
    ({'examine': ['010']}, ["examine: '010'", 'octal']),
    ({'netns': '/nonexistent/netns'}, ['netns /nonexistent/netns', 'No such file']),
])
def test_bad_input_fails_clearly(lab, playbooks, options, words):
    before = lab.snapshot()
    result = info(lab, playbooks, expect_failure=True, **options)
    for word in words:
        assert word in result['msg'], result['msg']
    assert lab.snapshot() == before


def test_processes_of_a_held_service_port_and_an_undeclared_listener(lab, playbooks):
    """Issue 15: both modules name the client holding a service port and an undeclared listener in the range."""
    lab.write_sysctl(RANGE, '40000 40009')
    client = SocketHolder(lab)
    other = SocketHolder(lab)
    try:
        assert client.do('comm', 'curl')['comm'] == 'curl'
        assert other.do('comm', 'undeclared-svc')['comm'] == 'undeclared-svc'
        server = client.do('listen', 'srv', 4, '127.0.0.1', 5000)['port']
        port = client.do('connect', 'c1', 4, '127.0.0.1', server, 'srv')['port']   # the service port, taken
        assert 40000 <= port <= 40009
        free = [p for p in range(40000, 40010) if p != port]
        undeclared = other.do('listen', 'u', 4, '127.0.0.1', free[0])['port']
        protected = other.do('listen', 'p', 6, '::1', free[1])['port']
        lab.write_sysctl(RESERVED, '%d\n' % protected)
        root = {'pid': client.pid, 'comm': 'curl', 'uid': 0, 'user': 'root'}
        undeclared_proc = {'pid': other.pid, 'comm': 'undeclared-svc', 'uid': 0, 'user': 'root'}

        def check(result):
            entry = port_entry(result, port)
            held = entry['holders'][0]
            assert (held['state'], held['remote']) == ('ESTABLISHED', '127.0.0.1:%d' % server)
            assert held['process'] == root and held['processes'] == [root]
            assert (held['process_count'], held['no_process']) == (1, None)
            # Only the listener inside the range on an unreserved port; not 5000, not the reserved one.
            assert result['unreserved_listeners'] == [{
                'port': undeclared, 'protocol': 'tcp', 'address': '127.0.0.1', 'local': '127.0.0.1:%d' % undeclared,
                'uid': 0, 'inode': result['unreserved_listeners'][0]['inode'], 'process': undeclared_proc,
                'processes': [undeclared_proc], 'process_count': 1, 'no_process': None,
                'binds_port_zero_likely': False}]
            assert result['unreserved_listeners'][0]['inode'] > 0
            assert result['unreserved_listener_count'] == 1
            assert result['process_scan']['looked_up'] is True and result['process_scan']['scanned'] >= 2

        check(info(lab, playbooks, examine=[port]))
        # local_ports reserves the port (that does not free it) and reports the same in its examine result.
        check(local_ports(lab, playbooks, reserved=[port], examine=[port], min_ephemeral=1).result('Apply'))
        # local_ports_info without ports: the listeners are examined, with their processes.
        everything = info(lab, playbooks)
        assert [(e['port'], [l['process']['comm'] for l in e['listeners']]) for e in everything['ports']] == sorted(
            [(server, ['curl']), (undeclared, ['undeclared-svc']), (protected, ['undeclared-svc'])])

        # The client closes first: its end stays in TIME_WAIT, which no process owns, and the result says so.
        assert client.do('close', 'c1')['states'] == ['06']
        entry = port_entry(info(lab, playbooks, examine=[port]), port)
        waiting = entry['holders'][0]
        assert (waiting['state'], waiting['inode'], waiting['process'], waiting['processes'], waiting['no_process']) == (
            'TIME_WAIT', 0, None, [], 'kernel_only')
    finally:
        client.close()
        other.close()


def test_pressure_per_destination_and_a_reservation_that_squeezes_it(lab, holder, playbooks):
    """1,500 connections to one listener in a 2,000-port range: pressure names it; starving it is refused.

    The numbers are checked against the kernel at the end: the module's ``left``
    is exactly how many more connections the destination gets before
    EADDRNOTAVAIL.
    """
    lab.write_sysctl(RANGE, '40000 41999')
    lab.write_sysctl('/proc/sys/net/core/somaxconn', '65535')   # the listener never accepts: its queue takes them
    holder.do('listen', 'srv', 4, '127.0.0.1', 5000, 65535)
    holder.do('listen', 'inside', 4, '0.0.0.0', 41998)          # a listener inside the range: lost to every destination
    holder.do('listen', 'other', 4, '127.0.0.1', 5001)
    holder.do('listen', 'srv6', 6, '::1', 5002)
    many = holder.do('connect-many', 'many', 4, '127.0.0.1', 5000, 1500)
    assert len(many['ports']) == 1500 and many['error_at_end'] is None
    # A dual-stack socket talking IPv4 (tcp6, ::ffff:127.0.0.1) shares the IPv4 4-tuples: the same destination.
    assert len(holder.do('connect-many', 'mapped', 6, '::ffff:127.0.0.1', 5000, 1)['ports']) == 1
    for name in ('o1', 'o2', 'o3'):
        holder.do('connect', name, 4, '127.0.0.1', 5001, 'other')
    holder.do('connect', 'v6', 6, '::1', 5002, 'srv6')
    holder.do('udp-connect', 'dns', 4, '127.0.0.1', 5353)

    pressure = info(lab, playbooks, examine=[5000], pressure_limit=3)['pressure']
    assert (pressure['range'], pressure['effective'], pressure['limit']) == ([40000, 41999], 2000, 3)
    assert pressure['held_for_every_destination'] == {'tcp': 1, 'udp': 1}
    assert pressure['destination_count'] == 4 and len(pressure['destinations']) == 3
    assert pressure['destinations'][0] == {
        'protocol': 'tcp', 'local_address': '127.0.0.1', 'remote_address': '127.0.0.1', 'remote_port': 5000,
        'in_use': 1501, 'states': {'ESTABLISHED': 1501}, 'outside_range': 0, 'left': 498}
    assert [(d['protocol'], d['remote_address'], d['remote_port'], d['local_address'], d['in_use'], d['left'])
            for d in pressure['destinations'][1:]] == [('tcp', '127.0.0.1', 5001, '127.0.0.1', 3, 1996),
                                                       ('tcp', '::1', 5002, '::1', 1, 1998)]

    # 400 ports that no socket uses: reserving them leaves the busy destination 98 of its 498.
    used = set(holder.do('local-ports')['ports'])
    squeeze = [port for port in range(40000, 42000) if port not in used][:400]
    before = lab.snapshot()
    run = local_ports(lab, playbooks, expect_rc=2, reserved=squeeze, min_ephemeral=1)
    failed = run.result('Apply')
    assert failed.get('failed') is True, run
    assert ('this change would leave 1 destination(s) fewer than min_free_per_destination=1024 free ephemeral ports '
            '(effective range 2000 -> 1600 ports), nothing was changed: tcp 127.0.0.1 -> 127.0.0.1:5000 has 1501 '
            'local ports of the range in use (ESTABLISHED 1501): 498 left now, 98 after this change') in failed['msg']
    assert [(d['remote_port'], d['left_before'], d['left_after']) for d in failed['pressure']['squeezed']] == [
        (5000, 498, 98)]
    # Nothing changed: the live values read back from /proc/sys, and every file of the sysctl tree.
    assert lab.snapshot() == before
    assert lab.reserved() == '\n' and lab.port_range() == (40000, 41999)
    assert not os.path.exists(lab.file(OWN_FILE))

    # Two thirds of the connections go (reset: no TIME_WAIT): 1,498 left, 1,098 after, above 1,024.
    holder.do('reset-many', 'many', 1000)
    applied = local_ports(lab, playbooks, reserved=squeeze, min_ephemeral=1).result('Apply')
    assert applied['changed'] is True, applied
    assert not [text for text in applied.get('warnings', []) if 'destination' in text], applied['warnings']
    after = applied['pressure']['after']['destinations'][0]
    assert (after['remote_port'], after['in_use'], after['left']) == (5000, 501, 1098)
    assert applied['pressure']['before']['destinations'][0]['left'] == 1498
    assert nslab.kernel_set(lab.reserved()) == set(squeeze)
    with open(lab.file(OWN_FILE)) as handle:
        assert nslab.kernel_set(handle.read().split('net.ipv4.ip_local_reserved_ports = ')[1].split('\n')[0]) == set(
            squeeze)

    # What the kernel says: exactly 1,098 more connections to that destination, then EADDRNOTAVAIL.
    more = holder.do('connect-many', 'more', 4, '127.0.0.1', 5000, 1500)
    assert (len(more['ports']), more['error_at_end']) == (1098, 'EADDRNOTAVAIL')
