#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: local_ports
short_description: Keep service ports out of the kernel's ephemeral port assignment
version_added: 0.1.0
description:
  - Sets C(net.ipv4.ip_local_reserved_ports) and C(net.ipv4.ip_local_port_range) in the running
    kernel and in a sysctl.d file that wins at boot, so that outgoing connections and C(bind(port 0))
    never take a service's fixed port and the service can always restart.
  - Both keys are per network namespace and apply to IPv4 and IPv6, TCP and UDP alike.
  - C(changed) compares port sets and the two range numbers, never strings, so a value the kernel
    rewrites (C(8080,8081) reads back as C(8080-8081)) is not reported as a change on every run.
  - Everything is validated before anything is written. Live values are written through one file
    descriptor until the whole value is taken (the kernel accepts at most 4095 bytes per write),
    read back once and compared as sets. On any failure both keys are restored and the persisted
    file is left as it was.
  - In C(merge) mode (the default) reservations made by others are kept. The module records the
    ports it owns in the persisted file (and, for live-only use, under C(/run/portguard-ephemeral)),
    so a port removed from O(reserved) is released on the next run while foreign ones stay.
  - "Ownership rules: a port is owned when this module put it into the live set while nobody else had it
    reserved. A port someone else reserved stays foreign in both modes, even when O(reserved) lists it:
    C(exact) keeps it (it is asked for) but a later C(merge) run never releases it. With O(live=false)
    ownership does not change: ports the file adds are reported as RV(pending) and become owned only
    when a later boot has applied the file (the file records the boot it was written in). In C(merge)
    mode, ports that other sysctl files set for C(net.ipv4.ip_local_reserved_ports) are kept in our
    file (which hides those lines at boot) and reserved live, reported in RV(declared_elsewhere) with a
    warning, and stay foreign."
  - "Ownership records for live-only runs are kept per network namespace under
    C(/run/portguard-ephemeral), named by the namespace cookie (Linux 5.14+). Kernels without the
    cookie (Debian 11, EL8) key the record by the namespace's inode and device, with a warning: the
    kernel reuses an inode once its namespace is gone. Every run removes records from another boot
    and records of namespaces that no process and no nsfs mount holds any more (a namespace kept
    alive only by an open file descriptor counts as gone; its ports then count as foreign). When a
    process's namespace cannot be read (some sandboxes hide pid 1) no record is taken for gone."
  - Runs are serialized. A lock per network namespace and one per persisted file (files
    C(/run/portguard-ephemeral/lock-*)) is held from the first read to the last write, so two runs at
    once (the same host under two inventory names) never interleave. A run that waits longer than
    O(lock_timeout) fails, naming the pid and task of the holder, and changes nothing.
  - The module never writes through a symbolic link. A link at O(path), or in
    C(/run/portguard-ephemeral), is refused with a message and nothing is changed.
  - "Changing O(path): there is one managed file per host. A file in the sysctl.d directories that
    starts with this module's header and is not O(path) is the old file: its owned ports stay owned,
    its settings for keys not given in this run carry over into O(path), and it is removed
    (RV(removed_files), a warning, and a diff entry)."
  - Every failure leaves the live values and the files as they were. A failure after something was
    written names the step that failed and what was undone.
  - Before writing the persisted file the module resolves which file sets each key at boot, with
    systemd-sysctl's rules, and what a procps C(sysctl --system) run would leave, with procps' rules
    (measured with procps-ng 4.0.2 on Debian 12 and 4.0.4 on Debian 13 - it applies
    C(/etc/sysctl.conf) again after every sysctl.d file, even when C(99-sysctl.conf) links to it).
    If another file would override ours on either path, the task fails naming the file and line
    (or warns, see O(on_override)).
author:
  - portguard maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - portguard.ephemeral.netns
  - portguard.ephemeral.port_sysctls
attributes:
  check_mode:
    support: full
    details: Computes the full result, including the boot-time winner, and writes nothing.
  diff_mode:
    support: full
    details: Shows the live values and the persisted file before and after.
options:
  reserved:
    description:
      - Ports to keep out of automatic assignment. A list of ports (integers) and ranges
        (strings C("LOW-HIGH")); a string in the kernel's syntax (C("8080-8082,9000")) is also accepted.
      - Ports are 1-65535, in decimal. Port 0, leading zeros (the kernel reads C(010) as octal 8),
        hexadecimal, white space inside a kernel-syntax string and reversed ranges are refused.
      - Omit it to leave the reservations as they are (for example to change only O(range)).
        Give an empty list to release every port this module owns (in C(merge) mode) or to clear
        the key (in C(exact) mode).
    type: raw
  range:
    description:
      - The ephemeral port range, C("LOW HIGH") or C([LOW, HIGH]).
      - LOW must be at least C(net.ipv4.ip_unprivileged_port_start) (normally 1024) and HIGH at most
        65535. Different parity of LOW and HIGH is recommended; same parity gives a warning.
      - Omit it to leave the range as it is.
    type: raw
  mode:
    description:
      - V(merge) keeps reservations made by others (another tool, an admin, an earlier sysctl file) and
        changes only the ports this module owns.
      - V(exact) makes the reserved set equal to O(reserved), dropping everything else.
    type: str
    choices: [merge, exact]
    default: merge
  live:
    description:
      - Apply to the running kernel.
    type: bool
    default: true
  persist:
    description:
      - Write the values to O(path) so they are applied at boot.
      - Defaults to V(true), or to V(false) when O(netns) is set (a sysctl.d file configures the
        host's namespace, not another one). O(persist=true) together with O(netns) is refused.
    type: bool
  path:
    description:
      - The file the values are persisted to. It holds only this module's keys, under a managed header.
      - The default name sorts after every numbered file (including C(99-sysctl.conf), the link to
        C(/etc/sysctl.conf)), so by systemd-sysctl's rule that the file name sorting last wins,
        this file sets the keys at boot.
      - An existing file without the managed header is never overwritten, and a symbolic link here is
        refused.
      - An empty string is refused (omit the option for the default).
      - When it changes, the managed file at the old path is replaced (see the description).
    type: path
    default: /etc/sysctl.d/zz-portguard-ephemeral.conf
  on_override:
    description:
      - What to do when another file would set one of our keys at boot after ours (a later-sorting
        name, C(/etc/sysctl.conf) reached through C(99-sysctl.conf), a same-name file in C(/etc)
        hiding O(path), a mask), or when O(path) would not be read at boot at all.
      - The same applies to a procps C(sysctl --system) run (the usual "apply my sysctl change"
        command, and Debian's procps init script without systemd), which writes every line it reads,
        C(/etc/sysctl.conf) last even when C(99-sysctl.conf) links to it. So a line for one of our keys
        in C(/etc/sysctl.conf) fails the task although systemd-sysctl lets our file win at boot. A line
        the kernel refuses is skipped by procps and is not counted.
      - V(fail) stops before anything is written and names the file and line. V(warn) applies
        anyway and warns.
    type: str
    choices: [fail, warn]
    default: fail
  min_ephemeral:
    description:
      - The least number of ports that must remain for automatic assignment (range size minus the
        reserved ports inside it). The task fails before writing when a change would leave fewer and
        reduces the ports that remain; a change that keeps or raises them (releasing ports, widening the
        range) is applied with a warning.
      - The default, 8192, keeps a host able to open about 136 new connections per second to one
        destination with the 60 second TIME_WAIT, while allowing the common narrowed ranges.
      - The role sets it from C(reserved_ports_min_ephemeral). Its old name O(min_ephemeral_ports) is a
        deprecated alias, to be removed in 1.0.0.
    aliases: [min_ephemeral_ports]
    type: int
    default: 8192
  examine:
    description:
      - Service ports or ranges (same syntax as O(reserved)) to report on after the change, exactly as
        M(portguard.ephemeral.local_ports_info) reports them in its C(ports) result (inside the range,
        reserved live and at boot, listeners, other sockets holding the port, C(at_risk) and the reason).
      - The result also lists the listeners inside the range this run leaves whose port is not reserved
        (RV(unreserved_listeners)), and names the processes of listeners and holders, as
        M(portguard.ephemeral.local_ports_info) does.
      - Saves a second module call per host when applying and auditing together. Nothing is reported
        when omitted.
    type: raw
  min_free_per_destination:
    description:
      - The least number of ephemeral ports that must stay free for each destination the host talks to right now
        (protocol, local address, remote address, remote port), counted from the socket tables as
        M(portguard.ephemeral.local_ports_info) counts its C(pressure).
      - A change that takes ports out of the effective range (new reservations inside it, a narrower or moved
        range) and would leave a destination fewer free ports than this, and fewer than now, fails before anything
        is written, naming the destination, its ports in use, what is left now and after (or warns, see
        O(on_pressure)). A destination already below it that the change does not lower is not a problem.
      - The default, 1024, is about 17 new connections per second to that destination on top of today's with the
        60 second TIME_WAIT, or a burst of 1024. V(0) never fails.
      - Only live values are checked; with O(live=false) nothing changes live and nothing is checked.
    type: int
    default: 1024
    version_added: 0.3.0
  on_pressure:
    description:
      - What to do when a change would leave a destination fewer free ports than O(min_free_per_destination).
      - V(fail) stops before anything is written. V(warn) applies anyway and warns with the same numbers.
    type: str
    choices: [fail, warn]
    default: fail
    version_added: 0.3.0
  lock_timeout:
    description:
      - Seconds to wait for another run of this module working on the same network namespace or the
        same persisted file. When the wait runs out the task fails naming the other run's pid and task,
        and nothing is changed.
    type: int
    default: 60
notes:
  - Needs root (CAP_NET_ADMIN in the namespace). In an unprivileged container C(/proc/sys) is
    read-only; apply from the host with O(netns) instead.
  - The reserved ports are skipped by every automatic choice (C(connect()) without C(bind()),
    C(bind(port 0)), UDP autobind). An explicit C(bind()) to a reserved port always works, so
    services are unaffected.
  - RV(pressure) costs one read of the socket tables. It is computed when the change takes ports out of the
    effective range (only then can a destination lose free ports) or when O(examine) is given (then the sockets
    are read anyway); otherwise it is not returned.
  - Long reservation lists (over 4095 bytes in the kernel's form) are written whole here and by
    systemd-sysctl at boot, but procps C(sysctl -p) and C(sysctl --system) truncate them silently.
    The module warns; prefer ranges or moving the ephemeral range.
seealso:
  - module: portguard.ephemeral.local_ports_info
'''

EXAMPLES = r'''
- name: Reserve three service ports, keep others' reservations
  portguard.ephemeral.local_ports:
    reserved: [36601, 37601, 38601]

- name: Reserve a block and narrow the ephemeral range
  portguard.ephemeral.local_ports:
    reserved:
      - 8080
      - "9000-9099"
    range: "40000 60999"

- name: Make the reserved set exactly this, live only
  portguard.ephemeral.local_ports:
    reserved: "36601,37601,38601"
    mode: exact
    persist: false

- name: Reserve a port inside a container's network namespace
  portguard.ephemeral.local_ports:
    reserved: [8443]
    netns: /run/netns/app1
'''

RETURN = r'''
range:
  description: The ephemeral range before and after, as [LOW, HIGH].
  returned: always
  type: dict
  sample: {"before": [32768, 60999], "after": [32768, 60999]}
reserved:
  description:
    - The reserved ports before and after, each a port set. Every port set in this result (and in
      M(portguard.ephemeral.local_ports_info)'s) has the same three keys.
  returned: always
  type: dict
  sample: {"before": {"canonical": "8080", "ranges": [8080], "count": 1},
           "after": {"canonical": "8080,36601,37601,38601", "ranges": [8080, 36601, 37601, 38601], "count": 4}}
  contains:
    before:
      description: The port set before the run (every port set has these keys).
      type: dict
      contains:
        canonical:
          description: The kernel's canonical form (ascending, maximal runs as C(A-B)).
          type: str
        ranges:
          description: The same as a list, integers for single ports and C("A-B") strings for runs.
          type: list
          elements: raw
        count:
          description: How many ports the set holds.
          type: int
    after:
      description: The port set after the run (in check mode, the one it would leave), with the keys of
        RV(reserved.before).
      type: dict
added:
  description: Ports added to the reservations, a port set as in RV(reserved).
  returned: always
  type: dict
  sample: {"canonical": "36601,37601,38601", "ranges": [36601, 37601, 38601], "count": 3}
released:
  description: Ports released from the reservations, a port set as in RV(reserved).
  returned: always
  type: dict
  sample: {"canonical": "", "ranges": [], "count": 0}
owned:
  description: Reserved ports this module owns after the run, a port set as in RV(reserved); only these are
    released when they leave O(reserved) in C(merge) mode.
  returned: always
  type: dict
  sample: {"canonical": "36601,37601,38601", "ranges": [36601, 37601, 38601], "count": 3}
foreign:
  description: Reserved ports kept because someone else reserved them (in C(exact) mode, the asked-for
    ports someone else had reserved), a port set as in RV(reserved). They are never released by a C(merge) run.
  returned: always
  type: dict
  sample: {"canonical": "8080", "ranges": [8080], "count": 1}
reserved_outside_range:
  description:
    - Reserved ports (after the run) that lie outside the ephemeral range, a port set as in RV(reserved). They have
      no effect until the range grows over them; with a moved range and the service ports kept reserved that is the
      point. A fact, not a warning.
  returned: always
  type: dict
  sample: {"canonical": "9100", "ranges": [9100], "count": 1}
pending:
  description: With O(live=false), ports the persisted file reserves that are not reserved live, a port set as in
    RV(reserved); they become owned once a later boot has applied the file. Empty otherwise.
  returned: always
  type: dict
  sample: {"canonical": "", "ranges": [], "count": 0}
declared_elsewhere:
  description: Reserved ports other sysctl files set for C(net.ipv4.ip_local_reserved_ports) (C(merge) mode
    with O(persist)), a port set as in RV(reserved). Our file hides those lines at boot, so it carries these ports
    and they are reserved live too; they stay foreign.
  returned: always
  type: dict
  sample: {"canonical": "", "ranges": [], "count": 0}
removed_files:
  description: Managed files at an earlier O(path) that this run removed (in check mode, would remove);
    their settings and owned ports carried over to O(path).
  returned: always
  type: list
  elements: str
  sample: ["/etc/sysctl.d/zz-old-name.conf"]
ephemeral_ports:
  description: Ports left for automatic assignment before and after.
  returned: always
  type: dict
  sample: {"before": 28232, "after": 28229}
boot:
  description: For each persisted key, the file and line that sets it at boot after this run
    (C(null) when nothing does), and the value there.
  returned: always
  type: dict
  sample: {"net.ipv4.ip_local_reserved_ports": {"file": "/etc/sysctl.d/zz-portguard-ephemeral.conf",
           "line": 5, "value": "36601,37601,38601"}}
persisted_file:
  description: The persisted file, or C(null) when O(persist=false).
  returned: always
  type: str
  sample: /etc/sysctl.d/zz-portguard-ephemeral.conf
live_changed:
  description: Whether the running kernel's values changed (or would, in check mode).
  returned: always
  type: bool
file_changed:
  description: Whether the persisted file changed (or would, in check mode).
  returned: always
  type: bool
netns:
  description: Identity of the network namespace that was examined and written.
  returned: always
  type: dict
  sample: {"inode": 4026531840, "dev": 4, "link": "net:[4026531840]", "cookie": 1, "path": null}
warnings:
  description: Plain-language warnings (same parity, reserved ports outside the range, large reserved
    blocks, values over 4095 bytes, overrides), shown as the task's warnings.
  returned: when there is something to warn about
  type: list
  elements: str
pressure:
  description:
    - Ephemeral port pressure per destination before and after this run (in check mode, the run it would be), each
      with the keys of the C(pressure) result of M(portguard.ephemeral.local_ports_info) (C(range), C(effective),
      C(held_for_every_destination), C(destination_count), C(limit) (10), C(destinations)). In C(after) the range,
      C(effective), C(in_use), C(states) and C(left) are counted against the values this run leaves; the sockets
      are the same.
    - C(min_free) is O(min_free_per_destination). C(squeezed) lists every destination this run leaves fewer free
      ports than C(min_free) and lowers (C(protocol), C(remote_address), C(remote_port), C(local_address),
      C(in_use), C(states), C(left_before), C(left_after)), the tightest first; with O(on_pressure=fail) the task
      then fails and nothing is changed.
    - A failed run returns it too.
  returned: when the change takes ports out of the effective range, or when O(examine) is given
  type: dict
  version_added: 0.3.0
  sample:
    before: {range: [32768, 60999], effective: 28232, held_for_every_destination: {tcp: 0, udp: 0},
             destination_count: 1, limit: 10,
             destinations: [{protocol: tcp, remote_address: 10.0.0.9, remote_port: 5432, local_address: 10.0.0.5,
                             in_use: 21480, states: {ESTABLISHED: 480, TIME_WAIT: 21000}, outside_range: 0,
                             left: 6752}]}
    after: {range: [32768, 60999], effective: 23232, held_for_every_destination: {tcp: 0, udp: 0},
            destination_count: 1, limit: 10,
            destinations: [{protocol: tcp, remote_address: 10.0.0.9, remote_port: 5432, local_address: 10.0.0.5,
                            in_use: 17690, states: {ESTABLISHED: 390, TIME_WAIT: 17300}, outside_range: 3790,
                            left: 5542}]}
    min_free: 1024
    squeezed: []
  contains:
    before:
      description: The pressure before the run, as M(portguard.ephemeral.local_ports_info) returns it.
      type: dict
    after:
      description: The pressure after the run (in check mode, the one it would leave), counted against the values
        this run leaves.
      type: dict
    min_free:
      description: O(min_free_per_destination).
      type: int
    squeezed:
      description: The destinations this run leaves fewer than C(min_free) free ports and lowers, tightest first.
      type: list
      elements: dict
ports:
  description:
    - One entry per port in O(examine), ascending, judged against the values after this run (in check
      mode, the values it would set). The entries have the same keys as the C(ports) result of
      M(portguard.ephemeral.local_ports_info); C(reserved_boot) and C(in_range_boot) are C(null) with O(netns)
      or O(persist=false).
  returned: when O(examine) is given
  type: list
  elements: dict
  sample:
    - {port: 36601, in_range: true, reserved_live: true, in_range_boot: true, reserved_boot: true,
       listeners: [], listener_count: 0, holders: [], holder_count: 0, holder_states: {},
       at_risk: false, reason: reserved}
    - {port: 37601, in_range: true, reserved_live: true, in_range_boot: true, reserved_boot: true,
       listeners: [], listener_count: 0, holder_count: 1, holder_states: {"tcp ESTABLISHED": 1},
       holders: [{protocol: tcp, state: ESTABLISHED, address: 10.0.0.5, local: "10.0.0.5:37601",
                  remote: "10.0.0.9:443", uid: 0, inode: 2795431,
                  process: {pid: 48121, comm: curl, uid: 0, user: root},
                  processes: [{pid: 48121, comm: curl, uid: 0, user: root}], process_count: 1,
                  no_process: null}],
       at_risk: true, reason: "held by an outgoing connection in ESTABLISHED: a restart would fail now"}
unreserved_listeners:
  description:
    - Listeners inside the ephemeral range this run leaves (in check mode, would leave) on ports it does not
      reserve, whether or not O(examine) names them; the same entries as the C(unreserved_listeners) result of
      M(portguard.ephemeral.local_ports_info) (C(port), C(protocol), C(address), C(local), C(uid), C(inode),
      C(process), C(processes), C(process_count), C(no_process), C(binds_port_zero_likely)); at most 200.
  returned: when O(examine) is given
  type: list
  elements: dict
  sample:
    - {port: 45871, protocol: udp, address: 0.0.0.0, local: "0.0.0.0:45871", uid: 0, inode: 18342,
       process: {pid: 611, comm: rpc.statd, uid: 0, user: root},
       processes: [{pid: 611, comm: rpc.statd, uid: 0, user: root}], process_count: 1, no_process: null,
       binds_port_zero_likely: true}
unreserved_listener_count:
  description: How many listeners RV(unreserved_listeners) would list without its limit.
  returned: when O(examine) is given
  type: int
  sample: 1
process_scan:
  description: The pass over C(/proc) that named the processes (C(looked_up), C(scanned), C(skipped),
    C(other_netns)), as in M(portguard.ephemeral.local_ports_info).
  returned: when O(examine) is given
  type: dict
  sample: {looked_up: true, scanned: 143, skipped: 0, other_netns: 12}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portguard.ephemeral.plugins.module_utils import _local_ports as impl
from ansible_collections.portguard.ephemeral.plugins.module_utils._task import run_task


def main():
    module = AnsibleModule(
        argument_spec=dict(
            reserved=dict(type='raw'),
            range=dict(type='raw'),
            mode=dict(type='str', default='merge', choices=['merge', 'exact']),
            live=dict(type='bool', default=True),
            persist=dict(type='bool'),
            path=dict(type='path', default=impl.DEFAULT_PATH),
            on_override=dict(type='str', default='fail', choices=['fail', 'warn']),
            min_ephemeral=dict(type='int', default=impl.DEFAULT_MIN_EPHEMERAL, aliases=['min_ephemeral_ports'],
                               deprecated_aliases=[dict(name='min_ephemeral_ports', version='1.0.0',
                                                        collection_name='portguard.ephemeral')]),
            netns=dict(type='path'),
            examine=dict(type='raw'),
            lock_timeout=dict(type='int', default=impl.DEFAULT_LOCK_TIMEOUT),
            min_free_per_destination=dict(type='int', default=impl.DEFAULT_MIN_FREE_PER_DESTINATION),
            on_pressure=dict(type='str', default='fail', choices=['fail', 'warn']),
        ),
        required_one_of=[('reserved', 'range')],
        supports_check_mode=True,
    )
    run_task(module, 'local_ports manages', lambda: impl.run(module.params, check_mode=module.check_mode, want_diff=module._diff))


if __name__ == '__main__':
    main()
