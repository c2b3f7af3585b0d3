# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired state versus current state, as sets and numbers.

Private to the collection; pure functions, standard library only.  ``changed``
is decided here by comparing port sets and the two range numbers, never strings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
    """What one run would change.  All port collections are frozensets."""

    def __init__(self, **kwargs):
        self.range_before = kwargs['range_before']
        self.range_after = kwargs['range_after']
        self.reserved_before = kwargs['reserved_before']
        self.reserved_after = kwargs['reserved_after']
        self.owned_before = kwargs['owned_before']
        self.owned_after = kwargs['owned_after']
        self.foreign = kwargs['foreign']
        self.warnings = kwargs['warnings']

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
    """What the kernel holds now and who holds it: the live range and reserved set, the ports this module owns,
    and the ports other sysctl files declare (which our persisted file would hide at boot)."""

    __slots__ = ('port_range', 'reserved', 'owned', 'declared')

    def __init__(self, port_range, reserved, owned=frozenset(), declared=frozenset()):
        self.port_range = tuple(port_range)
        self.reserved = frozenset(reserved)
        self.owned = frozenset(owned)
        self.declared = frozenset(declared)


def plan(current, desired_reserved, desired_range=None, mode='merge', min_ephemeral=DEFAULT_MIN_EPHEMERAL):
    """Compute the target state, complete.

    ``desired_reserved``: the ports this run asks for (a set), or None to leave
    the reservations and their ownership as they are (a run about the range).
    ``desired_range``: (low, high) or None to keep the live range.
    ``mode``: 'merge' keeps reservations this module does not own
    (``current.reserved - current.owned``) plus ``current.declared``;
    'exact' makes the set equal to ``desired_reserved``.  In both modes a port
    reserved by someone else stays foreign even when it is asked for.
    Raises PlanError when fewer than ``min_ephemeral`` would remain and
    the change reduces the free ports; a change that keeps or raises them only
    warns.
    """
    if mode not in ('merge', 'exact'):
        raise PlanError('mode: %r is not one of merge, exact' % (mode,))
    live_reserved = current.reserved
    owned_before = current.owned
    range_after = tuple(desired_range) if desired_range is not None else current.port_range
    if desired_reserved is None:
        owned_after = owned_before & live_reserved
        foreign = live_reserved - owned_after
        reserved_after = live_reserved
        desired_reserved = frozenset()
    elif mode == 'merge':
        # Ports someone else reserved stay, and stay theirs even when we ask for
        # them too: releasing one later must not drop their reservation.
        desired_reserved = frozenset(desired_reserved)
        foreign = (live_reserved - owned_before) | current.declared
        reserved_after = foreign | desired_reserved
        owned_after = desired_reserved - foreign
    else:
        # exact drops every port not asked for; a port someone else reserved that
        # is asked for stays, and stays theirs (a later merge run keeps it).
        desired_reserved = frozenset(desired_reserved)
        foreign = desired_reserved & (live_reserved - owned_before)
        reserved_after = desired_reserved
        owned_after = desired_reserved - foreign
    result = Plan(range_before=current.port_range, range_after=range_after,
                  reserved_before=live_reserved, reserved_after=reserved_after,
                  owned_before=owned_before, owned_after=owned_after,
                  foreign=foreign, warnings=_capacity_warnings(range_after, reserved_after, live_reserved,
                                                               current.port_range, min_ephemeral))
    result.warnings.extend(warnings_for(range_after, reserved_after))
    return result


def _capacity_warnings(range_after, reserved_after, reserved_before, range_before, min_ephemeral):
    """[] or a warning when fewer than ``min_ephemeral`` ports remain; PlanError when this run makes it worse."""
    low, high = range_after
    capacity = ephemeral_capacity(range_after, reserved_after)
    before = ephemeral_capacity(range_before, reserved_before)
    if capacity >= min_ephemeral:
        return []
    what = ('only %d ports would remain for automatic assignment (range %d-%d holds %d ports, %d of them '
            'reserved), below min_ephemeral=%d' % (capacity, low, high, high - low + 1,
                                                   high - low + 1 - capacity, min_ephemeral))
    if capacity < before:
        raise PlanError('%s; reserve fewer ports, widen range, or lower min_ephemeral' % what)
    # Not made worse by this run: never block an improvement.
    return ['%s, as before this run (%d before); widen range or reserve fewer ports' % (what, before)]


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
