# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: the failure, then the role from examples/, on a throw-away target.

The target is a private network namespace with its own sysctl.d tree (a Lab
from scripts/portguard_tools/netns_lab.py): its kernel values start at the defaults
(32768-60999, nothing reserved) and vanish with it.  Nothing is written to the
machine's own namespace or /etc/sysctl.d.

1. Outgoing connections to a local listener take every free ephemeral port.
2. Three clones of an app (python3 -m http.server on 36601, 37601, 38601)
   fail to start: "Address already in use".
3. ansible-playbook runs examples/site.yml (inventory examples/inventory,
   host app1) inside the namespace with the local connection.
4. The range is exhausted again; all three clones start.
5. The kernel values, the persisted file and the fleet report are shown.
Everything the demo started is stopped and removed, also on failure or Ctrl-C.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from portguard_tools import netns_lab  # scripts/portguard_tools, next to this file
from portguard_tools.playbook import COLLECTIONS, REPO, TARGET_PYTHON, ansible_env, playbook_argv

EXAMPLES = os.path.join(REPO, 'examples')
CLONES = (('app-1', 36601), ('app-2', 37601), ('app-3', 38601))
HOST = 'app1'
BOLD = '\033[1m' if sys.stdout.isatty() else ''
RED = '\033[31m' if sys.stdout.isatty() else ''
GREEN = '\033[32m' if sys.stdout.isatty() else ''
RESET = '\033[0m' if sys.stdout.isatty() else ''


def say(text=''):
    print(text, flush=True)


def step(number, text):
    say()
    say('%s==> %s. %s%s' % (BOLD, number, text, RESET))


class Clone(object):
    """One instance of the app: python3 -m http.server PORT inside the target."""

    def __init__(self, lab, name, port):
        self.name, self.port = name, port
        self.proc = lab.spawn([TARGET_PYTHON, '-u', '-m', 'http.server', '--bind', '0.0.0.0', str(port)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=tempfile.gettempdir())
        self.started, self.error = self._wait()

    def _wait(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            ready, _w, _x = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith('Serving HTTP'):
                    return True, None
            if self.proc.poll() is not None:
                lines = [line for line in self.proc.stderr.read().splitlines() if line.strip()]
                return False, lines[-1] if lines else 'exited with %s' % self.proc.returncode
        return False, 'did not start within %d s' % timeout

    def show(self):
        if self.started:
            say('   %s%-6s on %d: started%s' % (GREEN, self.name, self.port, RESET))
        else:
            say('   %s%-6s on %d: FAILED: %s%s' % (RED, self.name, self.port, self.error, RESET))

    def close(self):
        netns_lab.end_process(self.proc)


def start_clones(lab, running):
    clones = []
    for name, port in CLONES:
        clone = Clone(lab, name, port)
        running.append(clone)
        clones.append(clone)
        clone.show()
    return clones


def stop_all(running):
    """Stop the clones and end the port holders, newest first."""
    while running:
        running.pop().close()


def show_kernel(lab):
    low, high = lab.port_range()
    reserved = lab.reserved().strip()
    say('   net.ipv4.ip_local_port_range    = %d %d' % (low, high))
    say('   net.ipv4.ip_local_reserved_ports = %s' % (reserved or '(none)'))


def run_role(lab, report):
    extra = {
        # The target is this namespace: the controller runs inside it, local connection.
        'ansible_connection': 'local',
        'ansible_python_interpreter': TARGET_PYTHON,
        'ansible_become': False,
        'reserved_ports_report': report,
    }
    argv = playbook_argv(os.path.join(EXAMPLES, 'site.yml'), [os.path.join(EXAMPLES, 'inventory')], extra,
                         diff=True, args=['--limit', HOST])
    env = ansible_env(home=os.path.join(lab.root, '.ansible'), color=sys.stdout.isatty(), quiet=False,
                      extra={'ANSIBLE_DISPLAY_SKIPPED_HOSTS': 'false', 'ANSIBLE_LOCALHOST_WARNING': 'false',
                             'ANSIBLE_RETRY_FILES_ENABLED': 'false'})
    say('   $ ansible-playbook -i examples/inventory examples/site.yml --limit %s --diff \\' % HOST)
    say("       -e '%s'" % json.dumps(extra))
    proc = lab.run(argv, check=False, env=env)
    for line in proc.stdout.splitlines():
        if line.strip():
            say('   | ' + line)
    if proc.returncode != 0:
        say(proc.stderr)
        raise SystemExit('demo: ansible-playbook failed (rc=%d)' % proc.returncode)


def fill_range(lab, running, text):
    """Outgoing connections take every free ephemeral port of the target, until stop_all."""
    hold = lab.hold_ephemeral_ports()
    running.append(hold)
    say('   %d connections %s' % (hold.held, text))


def show_the_failure(lab, running):
    """Steps 1 and 2: the range full, the app's clones fail to start."""
    step(1, 'Outgoing connections take the free ephemeral ports (as a busy client would)')
    fill_range(lab, running, 'to 127.0.0.1:5000 hold every port of the range')

    step(2, 'Three clones of the app start on 36601, 37601, 38601, inside the range')
    clones = start_clones(lab, running)
    if all(clone.started for clone in clones):
        raise SystemExit('demo: expected a clone to fail without the role, but all started')
    say('   No process listens on those ports; outgoing connections hold them as source ports:')
    for _name, port in CLONES:
        sockets = lab.run(['ss', '-tanH', 'state', 'established', '( sport = :%d )' % port]).stdout.split()
        say('   | tcp ESTAB %s -> %s' % (sockets[-2], sockets[-1]) if len(sockets) >= 2 else '   | (none?)')
    stop_all(running)


def apply_the_role(lab, report):
    """Step 3: the role from examples/, then the kernel values and the persisted file."""
    step(3, 'Apply the role portguard.ephemeral.reserved_ports from examples/ to host %s (this namespace)' % HOST)
    run_role(lab, report)
    say()
    say('   Kernel values now:')
    show_kernel(lab)
    persisted = lab.file('etc/sysctl.d/zz-portguard-ephemeral.conf')
    say('   Persisted for boot (/etc/sysctl.d/zz-portguard-ephemeral.conf in the target):')
    with open(persisted) as handle:
        for line in handle.read().splitlines():
            say('   | ' + line)


def show_the_fix(lab, running):
    """Step 4: the range full again, every clone starts."""
    step(4, 'Exhaust the range with outgoing connections again, then start the clones')
    fill_range(lab, running, 'hold every port of the range that is not reserved')
    clones = start_clones(lab, running)
    if not all(clone.started for clone in clones):
        raise SystemExit('demo: a clone failed with the role applied')
    stop_all(running)


def show_the_report(report):
    """Step 5: the fleet report, and how to run the same on a real inventory."""
    step(5, 'The fleet report (%s.md; JSON next to it)' % report)
    with open(report + '.md') as handle:
        for line in handle.read().splitlines():
            say('   ' + line)
    say()
    say('%sRun the same playbook against a real inventory%s (root on the targets through become):' % (BOLD, RESET))
    say('   ansible-galaxy collection install portguard.ephemeral        # or ANSIBLE_COLLECTIONS_PATH=%s'
        % COLLECTIONS)
    say('   ansible-playbook -i examples/inventory examples/site.yml --check --diff    # preview')
    say('   ansible-playbook -i examples/inventory examples/site.yml')
    say('   Declare your services in group_vars as reserved_ports_services_<group> (they add up);')
    say('   see roles/reserved_ports/README.md.')


def main():
    if os.geteuid() != 0:
        raise SystemExit('demo: needs root (it creates a network namespace)')
    started = time.time()
    tmp = tempfile.mkdtemp(prefix='portguard-demo-')
    report = os.path.join(tmp, 'report', 'reserved-ports')
    running = []  # clones and port holders, stopped newest first
    lab = None
    try:
        lab = netns_lab.Lab(name='pgdemo-%d' % os.getpid(), root=os.path.join(tmp, 'target'))
        say('%sportguard.ephemeral demo%s: target = network namespace %s (throw-away, own /etc/sysctl.d)'
            % (BOLD, RESET, lab.name))
        show_kernel(lab)
        show_the_failure(lab, running)
        apply_the_role(lab, report)
        show_the_fix(lab, running)
        show_the_report(report)
        say()
        say('demo finished in %.1f s' % (time.time() - started))
    finally:
        stop_all(running)
        if lab is not None:
            lab.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _terminate(signum, _frame):
    raise SystemExit('demo: stopped by signal %d; cleaning up' % signum)


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    main()
