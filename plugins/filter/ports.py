# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``port_ranges`` and ``port_list``: the kernel's port list syntax in templates.

Documentation: port_ranges.yml and port_list.yml next to this file.  Parsing and
validation are the module's own (module_utils/_ports), so a value a filter
accepts is exactly a value ``portguard.ephemeral.local_ports`` accepts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.portguard.ephemeral.plugins.module_utils._ports import (
    PortSpecError,
    format_ports,
    parse_ports,
)


def _parse(value, name):
    if not isinstance(name, str) or not name:
        raise AnsibleFilterError('name: %r is not a non-empty string' % (name,))
    try:
        return parse_ports(value, name)
    except PortSpecError as exc:
        raise AnsibleFilterError(str(exc))


def port_ranges(value, name='port_ranges'):
    """Ports and ranges (a list, or a string in the kernel's syntax) -> the kernel's canonical string."""
    return format_ports(_parse(value, name))


def port_list(value, name='port_list'):
    """A kernel-syntax string or a list of ports and ranges -> sorted list of ints."""
    return sorted(_parse(value, name))


class FilterModule(object):
    """portguard.ephemeral port filters."""

    def filters(self):
        return {
            'port_ranges': port_ranges,
            'port_list': port_list,
        }
