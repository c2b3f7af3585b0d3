# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The journal of a run under way: sealed to its namespace and boot, and how the next run finishes it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _journal, _kernel, _owners

ME = {'inode': 4026532000, 'dev': 4, 'cookie': 77, 'link': 'net:[4026532000]'}
RANGE = (32768, 60999)


def fs(*ports):
    return frozenset(ports)


# The interrupted run: before it, foreign 60500 and 61000 and our 8080 (owner a); it meant to add 36601 for
# owner b and release 8080 (a dropped it).
ENTRY = _journal.Entry((RANGE, fs(8080, 60500, 61000)), (RANGE, fs(36601, 60500, 61000)),
                       _owners.Holdings({'b': fs(36601)}, fs(36601)), ['b'], pid=4242, started='2026-12-03T00:00:00Z')


def test_round_trip_and_binding():
    text = _journal.render(ME, 'boot-1', ENTRY)
    entry, problem = _journal.parse(text, ME, 'boot-1', 'x')
    assert problem is None
    assert (entry.before, entry.after, entry.holdings, entry.persisted_owners, entry.pid) == (
        ENTRY.before, ENTRY.after, ENTRY.holdings, fs('b'), 4242)
    assert _journal.parse(text, ME, 'boot-2', 'x') == (None, None)   # another boot: the boot applied the file
    entry, problem = _journal.parse(text.replace('36601', '1-65535'), ME, 'boot-1', 'x')
    assert entry is None and 'seal' in problem


LIVE_CASES = [
    # What the kernel holds when the next run starts, then what it must reserve again and release.
    ('killed-before-the-live-write', fs(8080, 60500, 61000), fs(), fs(8080)),
    ('first-4095-bytes-only', fs(36601), fs(60500, 61000), fs()),
    ('write-complete', fs(36601, 60500, 61000), fs(), fs()),
    ('another-writer-added-a-port-since', fs(36601, 60500, 61000, 7000), fs(), fs()),
]


@pytest.mark.parametrize('live, restore, release', [c[1:] for c in LIVE_CASES], ids=[c[0] for c in LIVE_CASES])
def test_recover(live, restore, release):
    recovery = _journal.recover(ENTRY, _kernel.LiveState(RANGE, live))
    assert recovery.restore == restore
    assert recovery.holdings.owners == {'b': fs(36601)}
    assert recovery.holdings.owned - fs(36601) == release
    assert recovery.port_range is None


def test_recover_finishes_a_range_change():
    entry = _journal.Entry((RANGE, fs()), ((40000, 60999), fs()), _owners.Holdings(), [])
    assert _journal.recover(entry, _kernel.LiveState(RANGE, fs())).port_range == (40000, 60999)
    assert _journal.recover(entry, _kernel.LiveState((40000, 60999), fs())).port_range is None
    assert _journal.recover(entry, _kernel.LiveState((50000, 60999), fs())).port_range is None  # someone else's
