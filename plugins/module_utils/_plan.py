# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan: desired state versus current state, as sets and numbers, owner by owner.

Private to the collection; pure functions, standard library only.  ``changed``
is decided here by comparing port sets and the two range numbers, never strings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.ephemeral.plugins.module_utils._owners import UNNAMED, Holdings
from ansible_collections.portguard.ephemeral.plugins.module_utils._ports import (
    KERNEL_WRITE_CHUNK,
    ephemeral_capacity,
    format_port_runs,
    port_runs,
)

DEFAULT_MIN_EPHEMERAL = 8192
# A reserved run this long inside the range makes the first free port after it
# far more likely to be picked than any other (the kernel scans forward from a
# random offset and skips reserved ports).
LARGE_BLOCK = 1024


class PlanError(ValueError):
    """The desired state is refused before anything is written."""


class Plan(object):
    """What one run would change, complete when built.  All port collections are frozensets.

    ``holdings_before``/``holdings_after``: who holds which ports (_owners.Holdings);
    ``foreign``: reserved ports after the run that no owner of ours put there;
    ``dropped``: {owner: ports} an ``exact`` run takes from other owners.
    """

    __slots__ = ('range_before', 'range_after', 'reserved_before', 'reserved_after', 'holdings_before',
                 'holdings_after', 'foreign', 'dropped', 'warnings')

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields[name])

    @property
    def owned_before(self):
        return self.holdings_before.owned

    @property
    def owned_after(self):
        return self.holdings_after.owned

    @property
    def added(self):
        return self.reserved_after - self.reserved_before

    @property
    def released(self):
        return self.reserved_before - self.reserved_after

    @property
    def range_changed(self):
        return tuple(self.range_after) != tuple(self.range_before)

    @property
    def reserved_changed(self):
        return self.reserved_after != self.reserved_before

    @property
    def live_changed(self):
        return self.range_changed or self.reserved_changed

    @property
    def capacity_before(self):
        return ephemeral_capacity(self.range_before, self.reserved_before)

    @property
    def capacity_after(self):
        return ephemeral_capacity(self.range_after, self.reserved_after)


class Current(object):
    """What the kernel holds now and who holds it: the live range and reserved set, the owners' holdings,
    the ports other sysctl files declare (which our persisted file would hide at boot), and foreign ports an
    interrupted run meant to keep that are missing now (``restore``)."""

    __slots__ = ('port_range', 'reserved', 'holdings', 'declared', 'restore')

    def __init__(self, port_range, reserved, holdings=None, declared=frozenset(), restore=frozenset()):
        self.port_range = tuple(port_range)
        self.reserved = frozenset(reserved)
        self.holdings = holdings if holdings is not None else Holdings()
        self.declared = frozenset(declared)
        self.restore = frozenset(restore)


class Request(object):
    """What one run asks: ``ports`` (None: leave the reservations alone) for ``owner``, ``state`` present or
    absent, ``mode`` merge or exact.  ``additive``: the owner is the one of calls without a name, whose
    present runs only add ports."""

    __slots__ = ('owner', 'ports', 'state', 'mode', 'additive')

    def __init__(self, ports, owner=UNNAMED, state='present', mode='merge', additive=None):
        self.ports = None if ports is None else frozenset(ports)
        self.owner, self.state, self.mode = owner, state, mode
        self.additive = (owner == UNNAMED) if additive is None else additive


def claims_after(holdings, request):
    """Every owner's claims after ``request``, and the ports an exact run drops from other owners."""
    claims = dict(holdings.owners)
    own = claims.get(request.owner, frozenset())
    if request.state == 'absent':
        claims[request.owner] = own - request.ports
    elif request.additive:
        claims[request.owner] = own | request.ports
    else:
        claims[request.owner] = request.ports
    dropped = {}
    if request.mode == 'exact':
        for name in list(claims):
            if name != request.owner and claims[name] - request.ports:
                dropped[name] = claims[name] - request.ports
                claims[name] = claims[name] & request.ports
    return dict((name, ports) for name, ports in claims.items() if ports), dropped


def plan(current, request, desired_range=None, min_ephemeral=DEFAULT_MIN_EPHEMERAL):
    """Compute the target state, complete.

    merge: the reserved set after is the foreign ports (live ones no owner of
    ours put there, ports other files declare, ports to restore) plus every
    owner's claims; a port leaves only when it is ours and no owner claims it.
    exact: the set becomes ``request.ports``; other owners lose what is not
    in it (``dropped``).  In both modes a port someone else reserved stays
    foreign even when asked for.  Raises PlanError when fewer than
    ``min_ephemeral`` would remain and the change reduces the free ports.
    """
    if request.mode not in ('merge', 'exact'):
        raise PlanError('mode: %r is not one of merge, exact' % (request.mode,))
    live = current.reserved
    holdings = current.holdings
    owned = holdings.owned & live
    range_after = tuple(desired_range) if desired_range is not None else current.port_range
    if request.ports is None:
        # Leave the reservations and who holds them alone (a run about the range), but finish what an
        # interrupted run left: restore what a cut-short write lost, release what it meant to release
        # (ours, claimed by nobody).
        dropped = {}
        unclaimed = owned - holdings.claimed()
        reserved_after = (live - unclaimed) | current.restore
        holdings_after = Holdings(holdings.owners, owned - unclaimed, holdings.dropped)
        foreign = reserved_after - owned
    else:
        claims, dropped = claims_after(holdings, request)
        wanted = frozenset().union(*claims.values()) if claims else frozenset()
        if request.mode == 'merge':
            theirs = (live - owned) | current.declared | current.restore
            reserved_after = theirs | wanted
        else:
            theirs = live - owned
            reserved_after = request.ports
        notices = dict((name, note) for name, note in holdings.dropped.items() if name != request.owner)
        for name, ports in dropped.items():
            notices[name] = {'by': request.owner, 'ports': ports | notices.get(name, {}).get('ports', frozenset())}
        holdings_after = Holdings(claims, wanted - theirs, notices)
        foreign = reserved_after - holdings_after.owned
    result = Plan(range_before=current.port_range, range_after=range_after, reserved_before=live,
                  reserved_after=reserved_after, holdings_before=holdings, holdings_after=holdings_after,
                  foreign=foreign, dropped=dropped,
                  warnings=_capacity_warnings(range_after, reserved_after, live, current.port_range, min_ephemeral))
    result.warnings.extend(warnings_for(range_after, reserved_after))
    return result


def _capacity_warnings(range_after, reserved_after, reserved_before, range_before, min_ephemeral):
    """[] or a warning when fewer than ``min_ephemeral`` ports remain; PlanError when this run makes it worse."""
    warnings = []
    low, high = range_after
    capacity = ephemeral_capacity(range_after, reserved_after)
    before = ephemeral_capacity(range_before, reserved_before)
    if capacity < min_ephemeral:
        what = ('only %d ports would remain for automatic assignment (range %d-%d holds %d ports, %d of them '
                'reserved), below min_ephemeral=%d' % (capacity, low, high, high - low + 1,
                                                       high - low + 1 - capacity, min_ephemeral))
        if capacity < before:
            raise PlanError('%s; reserve fewer ports, widen range, or lower min_ephemeral' % what)
        # Not made worse by this run: never block an improvement.
        warnings.append('%s, as before this run (%d before); widen range or reserve fewer ports' % (what, before))
    return warnings


def outside_range(port_range, ports):
    """The ports that lie outside the range: reserved, they have no effect until the range grows over them.

    A fact for results and reports, not a warning: with strategy ``both`` it is
    the point, and a warning on every run would teach people to ignore warnings.
    """
    low, high = port_range
    return frozenset(port for port in ports if port < low or port > high)


def warnings_for(port_range, reserved):
    """Plain-language warnings about a range and a reservation set: only what is wrong with them."""
    warnings = []
    low, high = port_range
    if low % 2 == high % 2 and low != high:
        warnings.append(
            'net.ipv4.ip_local_port_range %d %d: both ends are %s; the kernel prefers different parity '
            '(connect() to a fixed destination can never get one edge port). Use %d %d instead.'
            % (low, high, 'even' if low % 2 == 0 else 'odd', low, high - 1 if high > low else high))
    # Runs of the whole set, computed once (long lists have tens of thousands):
    # clipped to the range they are the runs of the ports inside it.
    runs = port_runs(reserved)
    for run_low, run_high in [run for run in runs if run[1] - run[0] + 1 >= LARGE_BLOCK]:
        run_low, run_high = max(run_low, low), min(run_high, high)
        size = run_high - run_low + 1
        if size >= LARGE_BLOCK:
            warnings.append(
                'reserved block %d-%d (%d ports) inside the ephemeral range skews the kernel\'s port choice: '
                'the first free port after it is picked far more often. Consider moving the range away '
                'from the block instead.' % (run_low, run_high, size))
    size = len(format_port_runs(runs)) + 1  # the value as written to /proc, with its newline
    if size > KERNEL_WRITE_CHUNK:
        warnings.append(
            'net.ipv4.ip_local_reserved_ports is %d bytes long (over %d): procps "sysctl -p" and '
            '"sysctl --system" would silently truncate it if run later; systemd-sysctl at boot applies '
            'it whole. Prefer ranges, or move the ephemeral range.' % (size, KERNEL_WRITE_CHUNK))
    return warnings
