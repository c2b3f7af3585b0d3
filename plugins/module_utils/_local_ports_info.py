# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit behind portguard.ephemeral.local_ports_info: options, then enter, read, judge; read-only.

Order of a run: validate the options, enter the namespace (fails closed),
read the two keys, resolve the boot configuration with systemd-sysctl's (and
procps') rules, read the four socket tables once and judge every examined
port, then name the processes behind the listed sockets.  Port sets are
compared as sets, ranges as numbers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.portguard.ephemeral.plugins.module_utils import (
    _boot_check,
    _examine,
    _kernel,
    _managed_file,
    _netns,
    _owners,
    _plan,
    _ports,
    _pressure,
    _processes,
    _state_dir,
    _stores,
)
from ansible_collections.portguard.ephemeral.plugins.module_utils._options import Options, absolute_path
from ansible_collections.portguard.ephemeral.plugins.module_utils._task import TaskError

ARGUMENT_SPEC = dict(
    examine=dict(type='raw', aliases=['ports'],
                 deprecated_aliases=[dict(name='ports', version='1.0.0', collection_name='portguard.ephemeral')]),
    netns=dict(type='path'),
    pressure_limit=dict(type='int', default=_pressure.DEFAULT_LIMIT),
)
NETNS_BOOT_NOTE = ('the sysctl.d files configure the namespace the host boots with, not %s; a namespace '
                   'starts at the kernel defaults and gets its values from whoever creates it, so there '
                   'is no boot value to compare with')


def parse_options(params):
    """Validate every option; raise TaskError naming the option and value."""
    opts = Options(ARGUMENT_SPEC, params)
    if opts.examine is not None:
        try:
            opts.examine = _ports.parse_ports(opts.examine, 'examine')
        except _ports.PortSpecError as exc:
            raise TaskError(str(exc), option='examine')
    absolute_path(opts.netns, 'netns', 'give /run/netns/NAME or /proc/PID/ns/net')
    _pressure.check_options(pressure_limit=opts.pressure_limit)
    return opts


def drift(live, later, netns):
    """Live values against boot values, as numbers and sets (nothing to compare with in another namespace)."""
    if later is None:
        return {'detected': None, 'range': None, 'reserved': None, 'note': NETNS_BOOT_NOTE % netns}
    return _examine.drift_report(live, later.boot_range, later.boot_reserved)


def _warnings(live, later):
    warnings = list(_plan.warnings_for(live.port_range, live.reserved))
    if later is not None and (tuple(later.boot_range), later.boot_reserved) != (tuple(live.port_range), live.reserved):
        for text in _plan.warnings_for(later.boot_range, later.boot_reserved):
            warnings.append('at boot: %s' % text)
    return warnings


def owners(namespace, live, root, state_path, warnings):
    """Who holds which ports in the namespace, read without locks and without writing (the state directory is
    not created)."""
    files = _managed_file.earlier_files(None, root) if namespace.booted_by_files else []
    state = None
    if os.path.isdir(state_path) and not os.path.islink(state_path):
        try:
            state = _state_dir.StateDir(state_path).open(create=False)
        except _state_dir.StateError as exc:
            warnings.append('cannot read the ownership records: %s' % exc)
    try:
        found = _stores.read(files, state, namespace.identity, _kernel.boot_id(), live, warnings)
    except TaskError as exc:
        warnings.append('cannot read the ownership records: %s' % exc)
        return {}
    finally:
        if state is not None:
            state.close()
    return _owners.port_sets(found.holdings)


def run(params, proc_sys=_kernel.PROC_SYS, root='/', net_directory=None, proc_root=_processes.PROC_ROOT,
        state_path=_state_dir.DEFAULT_DIR):
    """One run of the module; return the result dict or raise TaskError."""
    opts = parse_options(params)
    try:
        namespace = _netns.enter(opts.netns)
        live = _kernel.read_live(proc_sys)
    except (_netns.NetnsError, _kernel.SysctlError) as exc:
        raise TaskError(str(exc))
    view = _boot_check.outlook(root, live.unprivileged_port_start)
    # The boot files describe the namespace this module runs in; one entered through netns gets its values
    # from whoever creates it.
    later = view if namespace.booted_by_files else None
    try:
        found = _examine.examine(opts.examine, live, later, namespace.link, proc_root, net_directory)
    except ValueError as exc:
        raise TaskError('cannot read the socket tables: %s' % exc)
    boot_warnings = _boot_check.irregular_warnings(root) + _boot_check.chain_warnings(view)
    boot = _boot_check.report(view, root, boot_warnings)
    holders = owners(namespace, live, root, state_path, boot_warnings)
    counts = dict(found.sockets.counts)
    counts['total'] = found.sockets.total
    counts['source'] = found.sockets.directory
    result = {
        'changed': False,
        'range': list(live.port_range),
        'reserved': _ports.port_set(live.reserved),
        'ephemeral_ports': _ports.ephemeral_capacity(live.port_range, live.reserved),
        'reserved_outside_range': _ports.port_set(_plan.outside_range(live.port_range, live.reserved)),
        'boot': boot,
        'boot_appliers': view.chain,
        'drift': drift(live, later, opts.netns),
        'sockets': counts,
        'netns': namespace.identity,
        'owners': holders,
        'pressure': _pressure.for_info(found.sockets, live, opts.pressure_limit),
        'warnings': _warnings(live, later) + boot_warnings,
    }
    result.update(found.result())
    return result
