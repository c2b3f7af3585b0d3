# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plan(): merge/exact semantics, ownership, the capacity floor and warnings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.portguard.ephemeral.plugins.module_utils import _owners, _plan, _ports
from ansible_collections.portguard.ephemeral.plugins.module_utils._plan import PlanError

DEFAULT_RANGE = (32768, 60999)  # a fresh namespace: 28232 ports


def plan(live_range, live, desired, desired_range=None, mode='merge', owned_before=frozenset(),
         declared_elsewhere=frozenset(), min_ephemeral=_plan.DEFAULT_MIN_EPHEMERAL):
    """_plan.plan for one named owner that owns ``owned_before`` (what 0.2.0 called the module's ports), as the
    tables below give it: every rule of one owner alone is the same as before owners had names."""
    holdings = _owners.Holdings({'role': frozenset(owned_before)}, owned_before)
    current = _plan.Current(live_range, live, holdings, declared_elsewhere)
    return _plan.plan(current, _plan.Request(frozenset(desired), 'role', mode=mode), desired_range, min_ephemeral)


def span(low, high):
    return frozenset(range(low, high + 1))


def fs(*ports):
    return frozenset(ports)


# --------------------------------------------------------------------------- merge / exact, as a table

PLAN_CASES = [
    # id, live, owned_before, declared_elsewhere, desired, mode,
    #     -> reserved_after, owned_after, foreign, added, released
    ('merge-into-empty', fs(), fs(), fs(), fs(8080, 9000), 'merge',
     fs(8080, 9000), fs(8080, 9000), fs(), fs(8080, 9000), fs()),
    ('merge-keeps-foreign', fs(22, 5432), fs(), fs(), fs(8080), 'merge',
     fs(22, 5432, 8080), fs(8080), fs(22, 5432), fs(8080), fs()),
    ('merge-releases-owned-port-removed-from-desired', fs(22, 8080, 9000), fs(8080, 9000), fs(), fs(9000), 'merge',
     fs(22, 9000), fs(9000), fs(22), fs(), fs(8080)),
    ('merge-empty-desired-releases-all-owned-only', fs(22, 8080), fs(8080), fs(), fs(), 'merge',
     fs(22), fs(), fs(22), fs(), fs(8080)),
    ('merge-desired-foreign-port-stays-foreign', fs(22, 8080), fs(), fs(), fs(8080, 9000), 'merge',
     fs(22, 8080, 9000), fs(9000), fs(22, 8080), fs(9000), fs()),
    ('merge-foreign-port-survives-its-release-from-desired', fs(22, 8080, 9000), fs(9000), fs(), fs(9000), 'merge',
     fs(22, 8080, 9000), fs(9000), fs(22, 8080), fs(), fs()),
    ('merge-declared-elsewhere-is-kept-and-foreign', fs(), fs(), fs(7000), fs(8080), 'merge',
     fs(7000, 8080), fs(8080), fs(7000), fs(7000, 8080), fs()),
    ('merge-declared-elsewhere-also-desired-is-not-owned', fs(7000), fs(7000), fs(7000), fs(7000), 'merge',
     fs(7000), fs(), fs(7000), fs(), fs()),
    ('merge-owned-port-gone-from-live-is-put-back', fs(22), fs(8080), fs(), fs(8080), 'merge',
     fs(22, 8080), fs(8080), fs(22), fs(8080), fs()),
    ('merge-owned-gone-and-undesired-is-forgotten', fs(22), fs(8080), fs(), fs(), 'merge',
     fs(22), fs(), fs(22), fs(), fs()),
    ('merge-no-change', fs(22, 8080), fs(8080), fs(), fs(8080), 'merge',
     fs(22, 8080), fs(8080), fs(22), fs(), fs()),
    ('exact-drops-everything-else', fs(22, 5432, 8080), fs(8080), fs(7000), fs(9000), 'exact',
     fs(9000), fs(9000), fs(), fs(9000), fs(22, 5432, 8080)),
    # Ownership rule: exact drops what is not asked for, but a foreign port it is asked
    # for stays foreign (issue 11: a later merge with [] must not release it).
    ('exact-keeps-an-asked-foreign-port-foreign', fs(22), fs(), fs(), fs(22), 'exact',
     fs(22), fs(), fs(22), fs(), fs()),
    ('exact-owned-port-stays-owned', fs(22, 8080), fs(8080), fs(), fs(22, 8080), 'exact',
     fs(22, 8080), fs(8080), fs(22), fs(), fs()),
    ('exact-empty-clears', fs(22, 8080), fs(), fs(), fs(), 'exact',
     fs(), fs(), fs(), fs(), fs(22, 8080)),
]


@pytest.mark.parametrize(
    'live, owned, declared, desired, mode, reserved_after, owned_after, foreign, added, released',
    [c[1:] for c in PLAN_CASES], ids=[c[0] for c in PLAN_CASES])
def test_plan_table(live, owned, declared, desired, mode, reserved_after, owned_after, foreign, added, released):
    result = plan(DEFAULT_RANGE, live, desired, None, mode, owned, declared)
    assert result.reserved_before == live
    assert result.reserved_after == reserved_after
    assert result.owned_after == owned_after
    assert result.foreign == foreign
    assert result.added == added
    assert result.released == released
    assert result.reserved_changed == (reserved_after != live)
    assert result.range_after == DEFAULT_RANGE
    assert not result.range_changed
    for name in ('reserved_before', 'reserved_after', 'owned_before', 'owned_after', 'foreign'):
        assert isinstance(getattr(result, name), frozenset), name


def test_foreign_port_asked_for_is_never_released_later():
    """Run 1 asks for a port someone else reserved; run 2 drops it: their reservation stays."""
    first = plan(DEFAULT_RANGE, fs(8080), fs(8080, 9000), owned_before=fs())
    assert first.owned_after == fs(9000)
    second = plan(DEFAULT_RANGE, first.reserved_after, fs(), owned_before=first.owned_after)
    assert second.reserved_after == fs(8080)
    assert second.released == fs(9000)


def test_rerun_changes_nothing():
    first = plan(DEFAULT_RANGE, fs(22), fs(8080, 9000), (40000, 50001), owned_before=fs())
    assert first.live_changed
    again = plan(first.range_after, first.reserved_after, fs(8080, 9000), (40000, 50001),
                 owned_before=first.owned_after)
    assert not again.live_changed
    assert again.added == again.released == frozenset()
    assert again.owned_after == first.owned_after


def test_inputs_may_be_plain_sets_and_lists():
    result = plan([32768, 60999], {22}, {8080}, [40000, 50001], owned_before={9000})
    assert result.range_before == DEFAULT_RANGE
    assert result.range_after == (40000, 50001)
    assert result.range_changed
    assert result.reserved_after == fs(22, 8080)


def test_range_none_keeps_live_range():
    result = plan((40000, 50001), fs(), fs())
    assert result.range_after == (40000, 50001)
    assert not result.live_changed


def test_unknown_mode_is_refused_naming_it():
    with pytest.raises(PlanError) as info:
        plan(DEFAULT_RANGE, fs(), fs(), mode='replace')
    assert str(info.value) == "mode: 'replace' is not one of merge, exact"


# --------------------------------------------------------------------------- the capacity floor

def test_capacity_floor_exactly_met_is_accepted():
    reserved = span(32768, 32768 + 20040 - 1)  # leaves 28232 - 20040 = 8192
    result = plan(DEFAULT_RANGE, fs(), reserved, min_ephemeral=8192)
    assert result.capacity_after == 8192
    assert result.capacity_before == 28232


def test_capacity_floor_error_gives_the_numbers():
    reserved = span(32768, 32768 + 20041 - 1)
    with pytest.raises(PlanError) as info:
        plan(DEFAULT_RANGE, fs(), reserved)
    message = str(info.value)
    assert 'only 8191 ports would remain' in message
    assert 'range 32768-60999 holds 28232 ports, 20041 of them reserved' in message
    assert 'min_ephemeral=8192' in message


def test_capacity_floor_uses_the_new_range():
    with pytest.raises(PlanError) as info:
        plan(DEFAULT_RANGE, fs(), fs(40050), (40000, 40099), min_ephemeral=100)
    assert 'only 99 ports would remain' in str(info.value)
    assert 'range 40000-40099 holds 100 ports, 1 of them reserved' in str(info.value)


def test_capacity_floor_counts_foreign_ports_too():
    live = span(32768, 32768 + 20000 - 1)  # someone else's
    with pytest.raises(PlanError) as info:
        plan(DEFAULT_RANGE, live, span(60000, 60099))
    assert '20100 of them reserved' in str(info.value)


CAPACITY_CASES = [
    # id, live range, live reserved, owned, desired, desired range -> error?  (floor 2000 throughout)
    # Issue 11 item 7: only a change that lowers the free ports below the floor is refused.
    ('release-under-a-narrow-range-is-allowed', (50000, 51000), span(50000, 50099), span(50000, 50099), fs(), None,
     False),
    ('no-change-below-floor-is-allowed', (50000, 51000), span(50000, 50099), span(50000, 50099),
     span(50000, 50099), None, False),
    ('widening-while-still-below-is-allowed', (50000, 50900), fs(), fs(), fs(), (50000, 50999), False),
    ('reserving-one-more-below-floor-is-refused', (50000, 51000), span(50000, 50099), span(50000, 50099),
     span(50000, 50100), None, True),
    ('narrowing-below-floor-is-refused', (32768, 60999), fs(), fs(), fs(), (50000, 50999), True),
]


@pytest.mark.parametrize('live_range, live, owned, desired, desired_range, refused',
                         [c[1:] for c in CAPACITY_CASES], ids=[c[0] for c in CAPACITY_CASES])
def test_capacity_floor_refuses_only_reductions(live_range, live, owned, desired, desired_range, refused):
    if refused:
        with pytest.raises(PlanError) as info:
            plan(live_range, live, desired, desired_range, 'merge', owned, min_ephemeral=2000)
        assert 'below min_ephemeral=2000' in str(info.value)
        return
    result = plan(live_range, live, desired, desired_range, 'merge', owned, min_ephemeral=2000)
    assert result.capacity_after >= result.capacity_before
    assert any('below min_ephemeral=2000, as before this run' in w for w in result.warnings), result.warnings


def test_capacity_floor_ignores_reserved_ports_outside_the_range():
    result = plan(DEFAULT_RANGE, fs(), span(1024, 32767), min_ephemeral=28232)
    assert result.capacity_after == 28232


def test_capacity_floor_zero_allows_reserving_the_whole_range():
    result = plan((40000, 40009), fs(), span(40000, 40009), min_ephemeral=0)
    assert result.capacity_after == 0


def test_default_floor():
    assert _plan.DEFAULT_MIN_EPHEMERAL == 8192


# --------------------------------------------------------------------------- warnings

def warnings_of(port_range=DEFAULT_RANGE, desired=frozenset(), live=frozenset(), **kwargs):
    kwargs.setdefault('min_ephemeral', 0)
    return plan(DEFAULT_RANGE, live, desired, port_range, **kwargs).warnings


def only(warnings, words):
    found = [w for w in warnings if words in w]
    assert len(found) == 1, warnings
    return found[0]


def none_of(warnings, words):
    assert not [w for w in warnings if words in w], warnings


@pytest.mark.parametrize('port_range, parity', [
    ((32768, 61000), 'even'),
    ((32769, 60999), 'odd'),
    ((1024, 1026), 'even'),
])
def test_same_parity_warns_and_suggests(port_range, parity):
    text = only(warnings_of(port_range), 'parity')
    low, high = port_range
    assert 'net.ipv4.ip_local_port_range %d %d' % (low, high) in text
    assert 'both ends are %s' % parity in text
    assert 'Use %d %d instead' % (low, high - 1) in text


@pytest.mark.parametrize('port_range', [(32768, 60999), (1024, 65535), (40000, 40000), (40000, 40001)])
def test_different_parity_or_single_port_does_not_warn(port_range):
    none_of(warnings_of(port_range), 'parity')


def test_ports_outside_the_range_are_a_fact_not_a_warning():
    none_of(warnings_of(desired=fs(8080, 8081, 8082, 9000, 40000)), 'outside')
    none_of(warnings_of((50000, 50999), desired=fs(40000)), 'outside')
    assert _plan.outside_range((32768, 60999), fs(8080, 8081, 40000, 61000)) == fs(8080, 8081, 61000)
    assert _plan.outside_range((32768, 60999), fs()) == fs()


def test_large_block_inside_range_warns():
    text = only(warnings_of(desired=span(40000, 41023)), 'reserved block')
    assert text.startswith('reserved block 40000-41023 (1024 ports) inside the ephemeral range')


def test_block_just_below_the_limit_does_not_warn():
    none_of(warnings_of(desired=span(40000, 41022)), 'reserved block')


def test_large_block_counts_only_the_part_inside_the_range():
    # 32000-33023 is 1024 ports but only 32768-33023 (256) is inside the range.
    none_of(warnings_of(desired=span(32000, 33023)), 'reserved block')
    text = only(warnings_of(desired=span(32000, 33791)), 'reserved block')
    assert 'reserved block 32768-33791 (1024 ports)' in text


def test_large_foreign_block_inside_range_warns_too():
    only(warnings_of(desired=fs(), live=span(50000, 51999)), 'reserved block 50000-51999 (2000 ports)')


def test_large_block_outside_range_does_not_warn():
    none_of(warnings_of(desired=span(2000, 9999)), 'reserved block')


def test_assert_byte_budget_fixture():
    odd = frozenset(range(10001, 10001 + 2 * 682, 2))
    assert len(_ports.format_ports(odd | fs(11))) + 1 == 4095
    assert len(_ports.format_ports(odd | fs(101))) + 1 == 4096


def test_value_of_4095_bytes_does_not_warn():
    odd = frozenset(range(10001, 10001 + 2 * 682, 2))
    none_of(warnings_of(desired=odd | fs(11)), 'bytes long')


def test_value_over_4095_bytes_warns_with_the_size():
    odd = frozenset(range(10001, 10001 + 2 * 682, 2))
    text = only(warnings_of(desired=odd | fs(101)), 'bytes long')
    assert text.startswith('net.ipv4.ip_local_reserved_ports is 4096 bytes long (over 4095)')
    assert 'truncate' in text


def test_size_warning_counts_foreign_ports():
    odd = frozenset(range(10001, 10001 + 2 * 682, 2))
    only(warnings_of(desired=fs(101), live=odd), '4096 bytes long')


def test_no_warnings_for_a_plain_request():
    assert warnings_of(desired=fs(40000, 40001, 50000)) == []


def test_warnings_for_a_set_with_ports_outside_the_range_is_quiet():
    assert _plan.warnings_for((32768, 60999), fs(22, 40000)) == []


# --------------------------------------------------------------------------- properties

SMALL = st.frozensets(st.integers(min_value=40000, max_value=40040), max_size=25)


@settings(max_examples=400)
@given(live=SMALL, owned=SMALL, declared=SMALL, desired=SMALL)
def test_merge_invariants(live, owned, declared, desired):
    result = plan(DEFAULT_RANGE, live, desired, None, 'merge', owned, declared, 0)
    after = result.reserved_after
    # Everything asked for is reserved; everything foreign (live, not ours, or declared elsewhere) stays.
    assert desired <= after
    assert (live - owned) <= after
    assert declared <= after
    # Nothing appears from nowhere.
    assert after <= live | desired | declared
    # Only owned ports that are no longer desired (and not declared elsewhere) are released.
    for port in result.released:
        assert port in owned and port not in desired and port not in declared
    # Ownership: disjoint from foreign, together they are the whole set.
    assert not (result.owned_after & result.foreign)
    assert result.owned_after | result.foreign == after
    assert result.owned_after <= desired
    # A port that was foreign is never owned afterwards.
    assert not (result.owned_after & (live - owned))
    # Rerunning on the result is a fixed point.
    again = plan(DEFAULT_RANGE, after, desired, None, 'merge', result.owned_after, declared, 0)
    assert again.reserved_after == after
    assert again.owned_after == result.owned_after
    assert not again.live_changed


@settings(max_examples=200)
@given(live=SMALL, owned=SMALL, declared=SMALL, desired=SMALL)
def test_exact_invariants(live, owned, declared, desired):
    result = plan(DEFAULT_RANGE, live, desired, None, 'exact', owned, declared, 0)
    assert result.reserved_after == desired
    # Asked-for ports someone else had reserved stay theirs; the rest are ours.
    assert result.foreign == desired & (live - owned)
    assert result.owned_after == desired - result.foreign
    assert result.added == desired - live
    assert result.released == live - desired


# --------------------------------------------------------------------------- owners

def owner_run(live, holdings, ports, owner='unnamed', state='present', mode='merge', declared=fs(), restore=fs()):
    current = _plan.Current(DEFAULT_RANGE, live, holdings, declared, restore)
    return _plan.plan(current, _plan.Request(ports, owner, state, mode), min_ephemeral=0)


def runs(*steps, **start):
    """Apply (owner, ports, state, mode) steps in order from ``start`` (live, holdings); return the last plan."""
    live, holdings = start.get('live', fs()), start.get('holdings', _owners.Holdings())
    result = None
    for step in steps:
        owner, ports = step[0], step[1]
        state = step[2] if len(step) > 2 else 'present'
        mode = step[3] if len(step) > 3 else 'merge'
        result = owner_run(live, holdings, ports, owner, state, mode)
        live, holdings = result.reserved_after, result.holdings_after
    return result


# Each case: the steps, then the reserved set, the owners and the owned set after the last step.
OWNER_CASES = [
    ('two-owners-side-by-side', [('a', fs(36601)), ('b', fs(46432))],
     fs(36601, 46432), {'a': fs(36601), 'b': fs(46432)}, fs(36601, 46432)),
    ('two-unnamed-calls-add-up', [('unnamed', fs(36601)), ('unnamed', fs(46432))],
     fs(36601, 46432), {'unnamed': fs(36601, 46432)}, fs(36601, 46432)),
    ('unnamed-releases-with-absent', [('unnamed', fs(36601, 46432)), ('unnamed', fs(46432), 'absent')],
     fs(36601), {'unnamed': fs(36601)}, fs(36601)),
    ('a-shared-port-stays-until-the-last-owner-drops-it', [('a', fs(8080)), ('b', fs(8080)), ('a', fs())],
     fs(8080), {'b': fs(8080)}, fs(8080)),
    ('the-last-owner-drops-a-shared-port', [('a', fs(8080)), ('b', fs(8080)), ('a', fs()), ('b', fs())],
     fs(), {}, fs()),
    ('absent-of-one-owner-leaves-another-owners-port',
     [('a', fs(8080)), ('unnamed', fs(8080)), ('unnamed', fs(8080), 'absent')],
     fs(8080), {'a': fs(8080)}, fs(8080)),
    ('exact-takes-the-key', [('a', fs(8080, 9000)), ('b', fs(7000, 9000)), ('c', fs(9000), 'present', 'exact')],
     fs(9000), {'a': fs(9000), 'b': fs(9000), 'c': fs(9000)}, fs(9000)),
]


@pytest.mark.parametrize('steps, reserved, owners, owned', [c[1:] for c in OWNER_CASES],
                         ids=[c[0] for c in OWNER_CASES])
def test_owner_table(steps, reserved, owners, owned):
    result = runs(*steps)
    assert (result.reserved_after, result.holdings_after.owners, result.owned_after) == (reserved, owners, owned)
    # A rerun of the last step changes nothing.
    again = owner_run(result.reserved_after, result.holdings_after, *steps[-1][1:2], owner=steps[-1][0],
                      state=steps[-1][2] if len(steps[-1]) > 2 else 'present',
                      mode=steps[-1][3] if len(steps[-1]) > 3 else 'merge')
    assert not again.live_changed and again.holdings_after.owners == result.holdings_after.owners


def test_exact_says_whose_ports_it_dropped_and_they_hear_of_it():
    result = runs(('a', fs(8080, 9000)), ('b', fs(7000)), ('c', fs(9000), 'present', 'exact'))
    assert result.dropped == {'a': fs(8080), 'b': fs(7000)}
    assert result.holdings_after.dropped == {'a': {'by': 'c', 'ports': fs(8080)}, 'b': {'by': 'c', 'ports': fs(7000)}}
    # a's next run reserves what it asks for again and its notice is gone; b's stays until b runs.
    again = owner_run(result.reserved_after, result.holdings_after, fs(8080, 9000), 'a')
    assert again.reserved_after == fs(8080, 9000)
    assert sorted(again.holdings_after.dropped) == ['b']


def test_a_foreign_port_an_owner_claims_is_never_released():
    result = runs(('a', fs(5000, 8080)), ('a', fs()), live=fs(5000))
    assert result.reserved_after == fs(5000) and result.foreign == fs(5000)


def test_foreign_ports_and_other_files_stay_next_to_every_owner():
    result = owner_run(fs(5000, 8080), _owners.Holdings({'a': fs(8080)}, fs(8080)), fs(), 'a', declared=fs(6000))
    assert result.reserved_after == fs(5000, 6000) and result.released == fs(8080)


def test_restore_reserves_foreign_ports_a_cut_short_write_lost():
    holdings = _owners.Holdings({'a': fs(8080)}, fs(8080))
    result = owner_run(fs(8080), holdings, fs(8080), 'a', restore=fs(60500, 61000))
    assert result.reserved_after == fs(8080, 60500, 61000) and result.foreign == fs(60500, 61000)
    assert owner_run(fs(8080), holdings, None, 'a', restore=fs(60500)).reserved_after == fs(8080, 60500)
