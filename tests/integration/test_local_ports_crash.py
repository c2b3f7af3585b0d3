# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""local_ports killed at every write, rename and unlink of a run (strace inject), then run again: nothing lost.

The real kernel in a private namespace.  Before the killed run: foreign ports
another tool reserved live (60500-60510, 61000) and owner ``a``'s 36601 and
37601.  The killed run adds a list long enough to take several ``write()``
calls (every other port 20001-26999, about 21 KB).  After the kill, nothing
reserved before may be unreserved (a set that only grows is ORed in); the
next run of the same owner must converge: live == foreign + every owner's
ports, the file persisting exactly its owners' ports; then each owner drops
its ports and only the foreign ones are left.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import nslab
import pytest
from modrun import FILE, READ_STATE, file_holdings, live_set, ok, one, record_owners, scenario

from ansible_collections.portguard.ephemeral.plugins.module_utils import _managed_file, _ports

FOREIGN = frozenset(list(range(60500, 60511)) + [61000])
OWNER_A = frozenset([36601, 37601])
BIG = list(range(20001, 27000, 2))
# Calls of one killed run (measured with strace -e trace=...: locks, journal, six chunks of the value, the file,
# the renames and unlinks of the journal and the locks, the result on stdout), with some to spare: a kill
# beyond the last call is a run that finished, which must converge too.
CALLS = {'write': 13, 'rename': 2, 'renameat': 3, 'unlinkat': 6}
VARIANTS = {
    # Owner b persists: the file takes its ports; no record.
    'persisting': {'owner': 'b', 'reserved': BIG},
    # Owner c is live only: its ports go to the namespace record; the file is not touched.
    'live-only': {'owner': 'c', 'reserved': BIG, 'persist': False},
}
# One read() of the whole value: Python's open().read() would get only the first 8192 bytes.
READ_LIVE = ('import os\nfd = os.open("/proc/sys/net/ipv4/ip_local_reserved_ports", os.O_RDONLY)\n'
             'out = os.read(fd, 1 << 20).decode()\nos.close(fd)\n')
CASES = [(variant, syscall, when) for variant in sorted(VARIANTS) for syscall in sorted(CALLS)
         for when in range(1, CALLS[syscall] + 1)]


@pytest.fixture(scope='module')
def crash_lab():
    with nslab.Lab() as lab:
        yield lab


def _reset(lab):
    lab.write_sysctl(nslab.RESERVED, _ports.format_ports(FOREIGN) + '\n')
    if os.path.exists(lab.file(FILE)):
        os.unlink(lab.file(FILE))


@pytest.mark.parametrize('variant, syscall, when', CASES, ids=['%s-%s-%d' % case for case in CASES])
def test_killed_at_every_call_the_next_run_converges(crash_lab, variant, syscall, when):
    lab = crash_lab
    _reset(lab)
    killed = dict(VARIANTS[variant])
    results = scenario(
        lab,
        {'run': {'owner': 'a', 'reserved': sorted(OWNER_A)}},
        {'run': killed, 'strace': '%s:signal=KILL:when=%d' % (syscall, when)},
        {'py': READ_LIVE},
        {'run': killed},
        {'run': killed},
        {'py': READ_STATE},
        {'py': 'out = open(%r).read()' % FILE},
        {'run': {'owner': killed['owner'], 'reserved': [], 'persist': killed.get('persist', True)}},
        {'run': {'owner': 'a', 'reserved': []}},
    )
    ok(results[0])
    # No instant without what was reserved before: the killed run only adds, and adds by ORing in.
    assert _ports.parse_kernel_readback(results[2]) >= FOREIGN | OWNER_A, (variant, syscall, when)
    recovered, again = ok(results[3]), one(results[4])
    assert again['ok'] and not again['result']['changed'], again
    big = frozenset(BIG)
    assert _ports.parse_kernel_string(recovered['reserved']['after']['canonical']) == FOREIGN | OWNER_A | big
    assert set(recovered['owners']) == set(['a', killed['owner']])
    assert _ports.parse_kernel_string(recovered['owned']['canonical']) == OWNER_A | big
    managed = _managed_file.ManagedFile(FILE, results[6])
    assert managed.trust == 'sealed', managed.problem
    persisted = managed.holdings.owners
    assert managed.reserved == frozenset().union(*persisted.values())
    if variant == 'persisting':
        assert persisted == {'a': OWNER_A, 'b': big}
        assert record_owners(results[5]) == {}
    else:
        assert persisted == {'a': OWNER_A}
        assert record_owners(results[5]) == {'c': big}
    assert not [name for name in results[5] if name.startswith(('intent-', 'lock-', '.'))], sorted(results[5])
    # A kill during the file's write leaves a temporary file in /etc/sysctl.d: the next run removed it.
    assert not [name for name in os.listdir(lab.file('etc/sysctl.d')) if name.startswith('.portguard-')]
    # Each owner drops its ports: only the foreign ones are left, live and (none) persisted.
    released = ok(results[7])
    assert released['released']['canonical'] == _ports.format_ports(big)
    ok(results[8])
    assert live_set(lab) == FOREIGN
    assert file_holdings(lab).owners == {}


def test_a_kill_in_the_middle_of_a_long_write_loses_no_foreign_port(crash_lab):
    """The case found by the adversarial pass: a 172 KB list, SIGKILL at the third write()."""
    lab = crash_lab
    _reset(lab)
    every_other = list(range(1025, 60000, 2))
    results = scenario(lab, {'run': {'owner': 'a', 'reserved': sorted(OWNER_A)}},
                       {'run': {'owner': 'b', 'reserved': every_other, 'min_ephemeral': 0},
                        'strace': 'write:signal=KILL:when=5'},
                       {'run': {'owner': 'b', 'reserved': [], 'min_ephemeral': 0}})
    ok(results[0])
    assert one(results[1]).get('crashed'), results[1]
    released = ok(results[2])
    assert live_set(lab) == FOREIGN | OWNER_A, json.dumps(released['warnings'])
    assert any('was interrupted' in warning for warning in released['warnings']), released['warnings']
