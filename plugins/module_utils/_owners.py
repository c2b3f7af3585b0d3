# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named owners of reserved ports in one namespace: who holds which ports, which ports are ours, sealed state.

Private to the collection; standard library only.

Every caller of local_ports is an owner: a name given with ``owner``, or
``unnamed`` for calls without one (those only add ports; they release with
``state: absent``).  An owner's ports are its *claims*.  A port is reserved
while any owner claims it; ``owned`` are the ports this module put into the
live set (a port someone else had reserved first stays theirs: it is never in
``owned`` and never released).  ``dropped`` remembers, per owner, the ports an
``exact`` run of another owner took away, so that owner hears of it on its
next run.

State is written as JSON with a seal: a SHA-256 over the state, what it is
bound to (the values it sits next to, the namespace and boot) and a format
tag.  A state whose seal does not match (edited by hand, truncated, written by
something else, copied from another namespace) is never trusted to release a
port.  The seal proves integrity and binding, not authorship against root.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

from ansible_collections.portguard.ephemeral.plugins.module_utils import _ports

UNNAMED = 'unnamed'
FORMAT = 'portguard.ephemeral/owners/1'
# Letters, digits, '.', '_', '-'; starts with a letter or digit: fit for a file name, a comment line, a log.
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$')
NAME_MAX = 64


class StateUnsealed(ValueError):
    """A state that is not in the current format or whose seal does not match."""


def check_name(name):
    """None when ``name`` may name an owner, else why not (the message names the value)."""
    if not isinstance(name, str) or not name:
        return 'owner: %r is empty; give a short name such as the role or team that holds the ports' % (name,)
    if len(name) > NAME_MAX:
        return 'owner: %r is %d characters long; at most %d' % (name, len(name), NAME_MAX)
    if not NAME_RE.match(name):
        return ('owner: %r has characters unfit for a file name or a comment line; use letters, digits, '
                '".", "_" and "-", starting with a letter or digit' % (name,))
    return None


class Holdings(object):
    """Who holds which reserved ports: ``owners`` {name: frozenset}, ``owned`` (ours) and ``dropped`` notices.

    ``dropped`` is {owner: {'by': owner, 'ports': frozenset}}.
    """

    __slots__ = ('owners', 'owned', 'dropped')

    def __init__(self, owners=None, owned=frozenset(), dropped=None):
        self.owners = dict((name, frozenset(ports)) for name, ports in (owners or {}).items() if ports)
        self.owned = frozenset(owned)
        self.dropped = dict(dropped or {})

    def claimed(self):
        """Every port some owner holds."""
        ports = set()
        for claims in self.owners.values():
            ports.update(claims)
        return frozenset(ports)

    def claims(self, name):
        return self.owners.get(name, frozenset())

    def merged(self, other):
        """These holdings and ``other``'s (owners are in one store or the other)."""
        owners = dict(self.owners)
        for name, ports in other.owners.items():
            owners[name] = owners.get(name, frozenset()) | ports
        dropped = dict(self.dropped)
        dropped.update(other.dropped)
        return Holdings(owners, self.owned | other.owned, dropped)

    def only(self, names):
        """The part of these holdings about ``names``: their claims, the owned ports among them, their notices."""
        owners = dict((name, ports) for name, ports in self.owners.items() if name in names)
        part = Holdings(owners, frozenset(), dict((n, d) for n, d in self.dropped.items() if n in names))
        part.owned = self.owned & part.claimed()
        return part

    def __eq__(self, other):
        return (isinstance(other, Holdings) and self.owners == other.owners and self.owned == other.owned
                and self.dropped == other.dropped)

    def __ne__(self, other):
        return not self.__eq__(other)


def to_state(holdings, **extra):
    """Holdings as a JSON-ready dict of canonical strings (plus ``extra`` keys)."""
    state = {
        'format': FORMAT,
        'owners': dict((name, _ports.format_ports(ports)) for name, ports in sorted(holdings.owners.items())),
        # Claimed ports that are not ours (usually none): the owned set itself would repeat every claim.
        'unowned': _ports.format_ports(holdings.claimed() - holdings.owned),
        'dropped': dict((name, {'by': note['by'], 'ports': _ports.format_ports(note['ports'])})
                        for name, note in sorted(holdings.dropped.items())),
    }
    state.update(extra)
    return state


def from_state(state, where):
    """Holdings from a state dict (StateUnsealed on anything malformed)."""
    try:
        owners = {}
        for name, text in state['owners'].items():
            if check_name(name):
                raise StateUnsealed('%s: %s' % (where, check_name(name)))
            owners[name] = _ports.parse_kernel_string(text + '\n', where)
        dropped = {}
        for name, note in state.get('dropped', {}).items():
            dropped[name] = {'by': str(note['by']), 'ports': _ports.parse_kernel_string(note['ports'] + '\n', where)}
        holdings = Holdings(owners, frozenset(), dropped)
        holdings.owned = holdings.claimed() - _ports.parse_kernel_string(state['unowned'] + '\n', where)
        return holdings
    except (KeyError, TypeError, AttributeError, _ports.PortSpecError) as exc:
        raise StateUnsealed('%s: not a state this module wrote (%s)' % (where, exc))


def seal(state, bound_to):
    """The seal of ``state`` (without its own seal) bound to the text ``bound_to``."""
    body = dict((key, value) for key, value in state.items() if key != 'seal')
    digest = hashlib.sha256()
    digest.update(FORMAT.encode('utf-8') + b'\n')
    digest.update(json.dumps(body, sort_keys=True, separators=(',', ':')).encode('utf-8') + b'\n')
    digest.update(bound_to.encode('utf-8'))
    return 'sha256:' + digest.hexdigest()


def dump(state, bound_to):
    """One JSON line: ``state`` with its seal."""
    sealed = dict(state)
    sealed['seal'] = seal(state, bound_to)
    return json.dumps(sealed, sort_keys=True, separators=(',', ':'))


def load(text, bound_to, where):
    """The state dict of a sealed JSON line; StateUnsealed unless format and seal are right."""
    try:
        state = json.loads(text)
    except ValueError:
        raise StateUnsealed('%s: not JSON' % where)
    if not isinstance(state, dict) or state.get('format') != FORMAT:
        raise StateUnsealed('%s: not in the format %s' % (where, FORMAT))
    if state.get('seal') != seal(state, bound_to):
        raise StateUnsealed('%s: its seal does not match its content (edited, truncated, or copied from '
                            'elsewhere)' % where)
    return state


def describe(holdings, limit=120):
    """The owner lines a person reads: ``name: ports`` per owner, sorted by name, long lists cut at ``limit``."""
    lines = []
    for name, ports in sorted(holdings.owners.items()):
        text = _ports.format_ports(ports)
        if len(text) > limit:
            text = '%s... (%d ports)' % (text[:text.rindex(',', 0, limit)], len(ports))
        lines.append('%s: %s' % (name, text))
    return lines


def port_sets(holdings):
    """{owner: port set} as results carry them."""
    return dict((name, _ports.port_set(ports)) for name, ports in sorted(holdings.owners.items()))
