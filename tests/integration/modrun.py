# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module executions inside a Lab, with faults injected: the harness of the fault and crash tests.

A scenario runs one driver inside a Lab (a private network namespace, the
lab's sysctl.d tree, a private /run), so every step of one scenario shares the
lab's /run/portguard-ephemeral (and so do two scenarios: the lab keeps its /run, as a host does until it
reboots; clear it to simulate a reboot).  The driver runs each
module execution in its own process (the target's /usr/bin/python3, standard
library only), optionally with a fault injected -- a patched function, or a
signal delivered by strace at the Nth call of a system call -- and can run
several at once.  Every process checks, before it does anything, that it is in
the lab's namespace and not the machine's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys

import nslab

if nslab.COLLECTIONS not in sys.path:
    sys.path.insert(0, nslab.COLLECTIONS)

from ansible_collections.portguard.ephemeral.plugins.module_utils import _managed_file, _ports  # noqa: E402

FILE = '/etc/sysctl.d/zz-portguard-ephemeral.conf'
STATE = '/run/portguard-ephemeral'

# One module execution per process: {"params", "inject", "check"} in, one JSON line out.
CHILD = r'''
import errno, json, os, sys, time
spec = json.loads(open(sys.argv[1][1:]).read() if sys.argv[1].startswith('@') else sys.argv[1])
me = os.readlink('/proc/self/ns/net')
if me == spec['host'] or me != spec['lab']:
    sys.stderr.write('refusing: in %s, not the lab %s\n' % (me, spec['lab']))
    sys.exit(97)
sys.path.insert(0, spec['collections'])
from ansible_collections.portguard.ephemeral.plugins.module_utils import _kernel, _local_ports, _managed_file, _netns, _sockets
inject = spec.get('inject', [])
if 'no_cookie' in inject:
    _netns.cookie = lambda: None
if 'sockets_fail' in inject:
    def sockets_fail(*_args, **_kwargs):
        raise OSError(errno.EIO, 'injected: socket tables unreadable')
    _sockets.read_sockets = sockets_fail
if 'record_write_fails' in inject:
    from ansible_collections.portguard.ephemeral.plugins.module_utils import _state_dir
    original_write = _state_dir.StateDir.write
    def record_write_fails(state, name, text):
        if name.startswith('owned-'):
            raise OSError(errno.ENOSPC, 'injected: No space left on device')
        return original_write(state, name, text)
    _state_dir.StateDir.write = record_write_fails
if 'remove_fails' in inject:
    original_remove = _managed_file.remove
    def remove_fails(path, root='/'):
        if not path.endswith('/zz-portguard-ephemeral.conf'):
            raise OSError(errno.EACCES, 'injected: Permission denied')
        original_remove(path, root)
    _managed_file.remove = remove_fails
for name in inject:
    if name.startswith('slow_apply:'):
        seconds, original = float(name.split(':')[1]), _kernel.apply
        def slow_apply(*args, **kwargs):
            original(*args, **kwargs)
            sys.stderr.write('applied, sleeping\n')
            time.sleep(seconds)
        _kernel.apply = slow_apply
outs = []
for params in spec['runs']:
    try:
        outs.append({'ok': True, 'pid': os.getpid(),
                     'result': _local_ports.run(params, check_mode=spec.get('check', False))})
    except _local_ports.TaskError as exc:
        outs.append({'ok': False, 'pid': os.getpid(), 'msg': str(exc)})
print(json.dumps(outs))
'''

# The scenario: a list of steps, run in order inside the lab.
#   {"run": params | [params...], "inject": [...], "check": bool, "ro_proc_sys": bool, "strace": "write:..."}
#   {"parallel": [run-step, ...]}          all at once; results in the same order
#   {"write": [proc path, value]}          an admin's write, in the lab's namespace
#   {"py": code}                           plant files etc.; `out` is returned
DRIVER = r'''
import json, os, subprocess, sys, tempfile, time
spec = json.loads(sys.stdin.read())
me = os.readlink('/proc/self/ns/net')
if me == spec['host'] or me != spec['lab']:
    sys.exit(97)
child_base = {'host': spec['host'], 'lab': spec['lab'], 'collections': spec['collections']}

def start(step):
    child = dict(child_base, runs=step['run'] if isinstance(step['run'], list) else [step['run']],
                 inject=step.get('inject', []), check=step.get('check', False))
    data = json.dumps(child)
    if len(data) > 65536:  # past what one argv string may hold: through a file
        handle = tempfile.NamedTemporaryFile('w', suffix='.json', delete=False)
        handle.write(data)
        handle.close()
        data = '@' + handle.name
    argv = [spec['python'], '-c', spec['child'], data]
    if step.get('strace'):
        # A signal at the Nth call, e.g. "write:signal=KILL:when=3"; the child then ends as killed.
        argv = ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'inject=' + step['strace']] + argv
    if step.get('ro_proc_sys'):
        argv = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"', 'ro'] + argv
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)

def finish(proc):
    out, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        return [{'ok': False, 'crashed': proc.returncode, 'msg': err[-3000:]}]
    return json.loads(out)

results = []
for step in spec['steps']:
    if 'run' in step:
        results.append(finish(start(step)))
    elif 'parallel' in step:
        procs = []
        for sub in step['parallel']:
            procs.append(start(sub))
            time.sleep(sub.get('delay', 0))
        results.append([finish(proc) for proc in procs])
    elif 'write' in step:
        path, value = step['write']
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
        results.append(None)
    elif 'py' in step:
        scope = {'out': None}
        exec(step['py'], scope)
        results.append(scope['out'])
print(json.dumps(results))
'''


def scenario(lab, *steps):
    """Run the steps inside the lab; returns one entry per step (a run gives its list of outcomes)."""
    spec = {'host': nslab.host_ns_link(), 'lab': lab.link, 'collections': nslab.COLLECTIONS,
            'python': nslab.TARGET_PYTHON, 'child': CHILD, 'steps': list(steps)}
    proc = lab.run([nslab.TARGET_PYTHON, '-c', DRIVER], input=json.dumps(spec), check=False)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(proc.stdout)


def one(outcome):
    """The single outcome of a one-run step."""
    assert len(outcome) == 1, outcome
    return outcome[0]


def ok(outcome):
    out = one(outcome)
    assert out['ok'], out
    return out['result']


def failed(outcome):
    out = one(outcome)
    assert not out['ok'] and 'crashed' not in out, out
    return out['msg']


def live_set(lab):
    return _ports.parse_kernel_readback(lab.reserved())


def file_text(lab, path=FILE):
    with open(lab.file(path)) as handle:
        return handle.read()


def file_line(lab, prefix, path=FILE):
    values = [line[len(prefix):] for line in file_text(lab, path).splitlines() if line.startswith(prefix)]
    assert len(values) == 1, file_text(lab, path)
    return values[0]


def sysctl_files(lab):
    snap = lab.snapshot()
    return dict((rel, data) for rel, data in snap['files'].items() if not rel.startswith('.ansible'))


RES_LINE = 'net.ipv4.ip_local_reserved_ports = '


def file_holdings(lab, path=FILE):
    """Who holds which ports according to the managed file (its seal checked)."""
    managed = _managed_file.ManagedFile(path, file_text(lab, path))
    assert managed.trust == 'sealed', managed.problem
    return managed.holdings


def record_owners(state, only=None):
    """{owner: port set} of the one namespace record (or the record ``only``) in a READ_STATE snapshot ({} when
    there is none)."""
    records = [json.loads(text) for name, text in state.items()
               if name.startswith('owned-netns-') and name == (only or name)]
    assert len(records) <= 1, state
    return dict((name, _ports.parse_kernel_string(ports + '\n'))
                for name, ports in (records[0]['owners'] if records else {}).items())


READ_STATE = r'''
import json, os
out = {}
for name in sorted(os.listdir('/run/portguard-ephemeral')):
    full = os.path.join('/run/portguard-ephemeral', name)
    out[name] = 'link' if os.path.islink(full) else open(full).read()
'''
