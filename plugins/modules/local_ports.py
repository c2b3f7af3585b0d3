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
  - C(changed) compares port sets and range numbers, never strings. Everything is validated before anything is
    written, and every failure leaves the live values and the files as they were.
  - Many writers share the key. Every call has an O(owner) (V(unnamed) without one, which only adds ports), a port
    stays reserved while any owner holds it, and a run changes only its own owner's ports. In C(merge) mode (the
    default) reservations made by others are kept. The rules for ownership, crash safety, locking, changing
    O(path) and the boot-time check are in the notes.
author:
  - portguard maintainers (@portguard)
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
        With O(owner), an empty list releases every port of that owner (in C(merge) mode) or clears the
        key (in C(exact) mode).
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
      - It must be a plain C(*.conf) name directly inside C(/etc/sysctl.d), C(/run/sysctl.d),
        C(/usr/local/lib/sysctl.d) or C(/usr/lib/sysctl.d) (the directories both systemd-sysctl and procps read),
        without C(..) or control characters; anything else, an empty string included, is refused before
        anything is written, whatever O(on_override) says.
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
      - The same applies to the rest of the boot chain (RV(boot_appliers)), from version 0.3.0 on. On a host
        without systemd, C(/etc/init.d/procps) runs C(sysctl --system) at boot, so procps' order is the boot
        order and a list too long for its one write counts too. With tuned enabled, a line of its profile
        (when C(reapply_sysctl) is off, or O(path) is not in C(/etc/sysctl.d) or C(/run/sysctl.d)) or a line
        its reapply applies after O(path) (C(/etc/sysctl.conf) is applied last, also through
        C(99-sysctl.conf) as on RHEL and Debian) counts; the message names it and what to do (remove or move
        the line, or set C(reapply_sysctl) in C(/etc/tuned/tuned-main.conf)). A value that a program which
        is not modelled decides (Alpine's OpenRC C(sysctl) service, a tuned profile tuned picks itself) is a
        warning, not an override.
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
  owner:
    description:
      - Who holds the ports of this run, a short name (letters, digits, C(.), C(_), C(-); at most 64 characters,
        starting with a letter or digit), for example the role or the team. The role M(portguard.ephemeral.reserved_ports)
        uses C(reserved_ports) (role variable C(reserved_ports_owner)).
      - With an owner, O(reserved) is that owner's whole set; other owners' ports are never released by it.
      - Omit it for the owner V(unnamed), which only adds ports (two tasks without an owner never undo each
        other); release its ports with O(state=absent).
    type: str
    version_added: 0.3.0
  state:
    description:
      - V(present) reserves O(reserved) for O(owner) (its whole set with an owner; added to the V(unnamed)
        owner's ports without one).
      - V(absent) releases the ports in O(reserved) from O(owner) (or V(unnamed)); a port another owner or
        another writer holds stays reserved. Not with O(mode=exact).
    type: str
    choices: [present, absent]
    default: present
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
        same persisted file. When the wait runs out the task fails naming the holder's pid and command,
        and nothing is changed.
    type: int
    default: 60
notes:
  - Both keys are per network namespace and apply to IPv4 and IPv6, TCP and UDP alike.
  - C(changed) compares port sets and the two range numbers, never strings, so a value the kernel
    rewrites (C(8080,8081) reads back as C(8080-8081)) is not reported as a change on every run.
  - Everything is validated before anything is written. Live values are written through one file
    descriptor until the whole value is taken (the kernel accepts at most 4095 bytes per write),
    read back once and compared as sets. On any failure both keys are restored and the persisted
    file is left as it was. A failure after something was written names the step that failed and what
    was undone.
  - "Owners. Every call has an owner: O(owner), or V(unnamed) for calls without one. A port
    stays reserved while any owner holds it; a run changes only its own owner's ports. With O(owner) the
    O(reserved) list is that owner's whole set (a port it no longer lists is released unless another owner or
    another writer holds it). Calls without O(owner) only add ports to V(unnamed); they release with
    O(state=absent). In C(merge) mode (the default) reservations made by others are kept."
  - "Ownership rules: a port is owned when this module put it into the live set while nobody else had it
    reserved. A port someone else reserved stays foreign in both modes, even when O(reserved) lists it:
    C(exact) keeps it (it is asked for) but no later run releases it. C(exact) takes the whole key: other
    owners' ports not in O(reserved) are released (RV(dropped) names them) and each of those owners gets a
    warning on its next run, which reserves its ports again. With O(live=false) ownership does not change:
    ports the file adds are reported as RV(pending) and become owned only when a later boot has applied the
    file. In C(merge) mode, ports that other sysctl files set for C(net.ipv4.ip_local_reserved_ports) are
    kept in our file (which hides those lines at boot) and reserved live, reported in
    RV(declared_elsewhere) with a warning, and stay foreign. Ports another writer reserved only live
    (C(sysctl -w)) stay reserved live and are not written into our file: they are gone after a reboot, as
    that writer asked."
  - "Where ownership is kept: owners whose runs persist are listed in the managed file, one comment line per
    owner for people and one sealed state line for the module; live-only owners (O(persist=false), O(netns))
    in a record per network namespace under C(/run/portguard-ephemeral). An owner is in one of them: a run
    with O(persist=false) for an owner the file holds is refused. A state whose seal does not match its
    content (edited by hand, truncated, a plain-text record dropped into the directory, a copy from another
    namespace) is never used to release a port: its ports stay reserved, with a warning."
  - "Crash safety: before its first write a run records what it found and what it is about to leave (a
    journal under C(/run/portguard-ephemeral)), and removes it after its last write. A run killed at any
    point is finished by the next run: the ownership it meant to leave is taken as the truth, foreign ports
    it meant to keep are reserved again, and ports it meant to release are released. A change that only adds
    ports is written so that the kernel ORs it into the set (no instant without the old ports). A change that
    removes ports must replace the set: the kernel takes 4095 bytes per write, so for a list longer than that
    the ports after the first 4095 bytes are unreserved for the microseconds until the following writes,
    and until the next run if the run is killed between them."
  - "Upgrading from 0.2.0: the ports a 0.2.0 file or record reserved are held by owner V(unnamed) from the
    first run on, so nothing is released. To hand them back, release what you no longer want with
    O(owner=unnamed) and O(reserved) listing what to keep (for example V([]))."
  - Ownership records for live-only runs are kept per network namespace under C(/run/portguard-ephemeral),
    named by the namespace cookie (Linux 5.14+). Kernels without the cookie (Debian 11, EL8) key the record by
    the namespace's inode and device, with a warning, because the kernel reuses an inode once its namespace is
    gone. Every run removes records from another boot and records of namespaces that no process and no nsfs
    mount holds any more (a namespace kept alive only by an open file descriptor counts as gone; its ports then
    count as foreign). When a process's namespace cannot be read (some sandboxes hide pid 1) no record is taken
    for gone.
  - Runs are serialized. A lock per network namespace and one per persisted file (files
    C(/run/portguard-ephemeral/lock-*)) is held from the first read to the last write, so two runs at once (the
    same host under two inventory names) never interleave. A run that waits longer than O(lock_timeout) fails,
    naming the holder's pid and command as the kernel reports them (and, for a run of this module, its task),
    and changes nothing.
  - The module never writes through a symbolic link. A link at O(path), or in C(/run/portguard-ephemeral), is
    refused with a message and nothing is changed.
  - Changing O(path). There is one managed file per host. A file in the sysctl.d directories that starts with
    this module's header and is not O(path) is the old file. Its owners and their ports move over, its settings for keys
    not given in this run carry over into O(path), and it is removed (RV(removed_files), a warning, and a diff
    entry).
  - The boot-time check. Before writing the persisted file the module resolves which file sets each key at
    boot, with systemd-sysctl's rules, and what a procps C(sysctl --system) run would leave, with procps' rules
    (measured with procps-ng 4.0.2 on Debian 12 and 4.0.4 on Debian 13; it applies C(/etc/sysctl.conf) again
    after every sysctl.d file, even when C(99-sysctl.conf) links to it). If another file would override ours on
    either path, the task fails naming the file and line (or warns, see O(on_override)).
  - The boot chain (RV(boot_appliers)) decides which rules hold. On a host without systemd, where
    C(/etc/init.d/procps) applies the files at boot, procps' rules are the boot rules (a port list over
    4095 bytes is cut at boot there). When tuned is enabled, its profile's C([sysctl]) lines and its
    reapply of the system files (C(/etc/sysctl.conf) last) come after systemd-sysctl, and a line there
    that would undo our file is treated like any other override.
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
- name: Reserve the three clones' ports for owner app (its whole set; others' reservations stay)
  portguard.ephemeral.local_ports:
    owner: app
    reserved: [36601, 37601, 38601]

- name: Reserve a block for another owner and narrow the ephemeral range
  portguard.ephemeral.local_ports:
    owner: web
    reserved:
      - 8080
      - "9000-9099"
    range: "40000 60999"

- name: Add one port without an owner (calls without one only add)
  portguard.ephemeral.local_ports:
    reserved: [46432]

- name: Release that port again
  portguard.ephemeral.local_ports:
    reserved: [46432]
    state: absent

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
owner:
  description: The owner this run acted for (V(unnamed) without O(owner)).
  returned: always
  type: str
  sample: app
  version_added: 0.3.0
owners:
  description:
    - Every owner in the network namespace after the run and the ports it holds, each a port set as in
      RV(reserved) (in check mode, as the run would leave them).
  returned: always
  type: dict
  sample: {"app": {"canonical": "36601,37601,38601", "ranges": [36601, 37601, 38601], "count": 3},
           "unnamed": {"canonical": "46432", "ranges": [46432], "count": 1}}
  version_added: 0.3.0
dropped:
  description: With O(mode=exact), the ports this run took from other owners, per owner, each a port set as in
    RV(reserved); each of those owners is warned on its next run.
  returned: always
  type: dict
  sample: {}
  version_added: 0.3.0
owned:
  description: Reserved ports this module put into the live set and holds for some owner after the run, a port
    set as in RV(reserved); a port leaves the set only when it is one of these and no owner holds it.
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
  description:
    - For each persisted key, the file and line that systemd-sysctl's rules pick at boot after this run, and
      the value there (C(file), C(line) and C(value) are C(null) when nothing sets it; before 0.3.0 the item
      itself was C(null) then).
    - C(after_boot) is the value after the whole boot chain (RV(boot_appliers)).
  returned: always
  type: dict
  sample: {"net.ipv4.ip_local_reserved_ports": {"file": "/etc/sysctl.d/zz-portguard-ephemeral.conf",
           "line": 5, "value": "36601,37601,38601",
           "after_boot": {"value": "36601,37601,38601", "file": "/etc/sysctl.d/zz-portguard-ephemeral.conf",
                          "line": 5, "profile": null, "applier": "tuned", "note": null}}}
  contains:
    file:
      description: The file systemd-sysctl's rules pick, or C(null).
      type: str
    line:
      description: The line in that file, or C(null).
      type: int
    value:
      description: The value there, or C(null).
      type: str
    after_boot:
      description:
        - The value the host ends with after the whole boot chain (RV(boot_appliers)), and what set it last.
          tuned writes its profile's C([sysctl]) lines, then, with C(reapply_sysctl), re-applies
          C(/run/sysctl.d) and C(/etc/sysctl.d) (a name in C(/run) wins) by file name and C(/etc/sysctl.conf)
          last; it never reads C(/usr/lib/sysctl.d). C(/etc/init.d/procps) writes each value with one write, so
          the kernel keeps only the whole entries in the first 4095 bytes of a long port list (C(note) says so).
        - C(value) (as written; the kernel default's text when nothing sets the key; C(null) when an applier
          that is not modelled decides), C(file) and C(line) (or the tuned profile's file and line),
          C(profile) (the tuned profile's name for a profile line), C(applier) (C(null) for the kernel
          default), C(note).
      type: dict
      version_added: 0.3.0
      sample: {value: "7000", file: /etc/sysctl.conf, line: 3, profile: null, applier: tuned, note: null}
boot_appliers:
  description:
    - The programs that apply sysctl settings at boot on this host, in order, each with what was detected and
      why (C(source)). First the boot applier from the init system - C(systemd-sysctl) (systemd as PID 1, or
      C(/sbin/init) is systemd; also assumed, and said so, when no init system is found, as in a container
      without one), C(procps) (sysvinit, or Debian's openrc, running C(/etc/init.d/procps), which runs
      C(sysctl -q --system)), or C(openrc-sysctl) (Alpine's OpenRC C(sysctl) service, not modelled) - then
      C(tuned) when its service is enabled and C(/usr/sbin/tuned) exists.
    - Every entry has C(name), C(source) and C(modelled) (V(false) when the value after boot cannot be
      predicted). The tuned entry also has C(profile) (from C(/etc/tuned/active_profile)), C(reapply_sysctl)
      (C(/etc/tuned/tuned-main.conf), default on; C(null) when tuned cannot start), C(version) and C(note).
    - An empty list means nothing applies the sysctl files at boot (for example a masked
      C(systemd-sysctl.service)).
  returned: when O(persist=true) (an empty list otherwise)
  type: list
  elements: dict
  version_added: 0.3.0
  sample:
    - {name: systemd-sysctl, source: "/run/systemd/system exists: systemd is PID 1", modelled: true}
    - {name: tuned, profile: oracle, reapply_sysctl: true, version: "2.20", modelled: true, note: null,
       source: /etc/systemd/system/multi-user.target.wants/tuned.service}
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
  description:
    - Plain-language warnings, shown as the task's warnings; a clean rerun has none. Each kind of warning is listed
      below with a phrase its text contains.
    - C(both ends are) - the ephemeral range's ends have the same parity, so C(connect()) to a fixed destination
      never gets one edge port.
    - C(skews the kernel's port choice) - a reserved block of 1024 ports or more inside the ephemeral range.
    - C(bytes long) - the reservation list is over 4095 bytes, which a later procps C(sysctl -p) or
      C(sysctl --system) would truncate.
    - C(as before this run) - fewer than O(min_ephemeral) ports remain for automatic assignment, as before this
      run (a change that leaves fewer fails instead).
    - C(although this run did not ask for them) - ports other sysctl files declare for the reservations, reserved
      live because our file hides those lines at boot.
    - C(would not be set at boot by) - with O(on_override=warn), no boot program sets the key from O(path).
    - C(and is applied after) - with O(on_override=warn), another file sets the key after O(path) at boot and wins.
    - C(would not be read at boot) - with O(on_override=warn), O(path) is not read at boot at all.
    - C(to a long list, but at boot /etc/init.d/procps) - with O(on_override=warn), on a host without systemd the
      boot's procps run would cut the reservation list at 4095 bytes.
    - C(after boot is not known) - a program that applies sysctls at boot is not modelled (Alpine's OpenRC
      C(sysctl) service, a tuned profile with variables).
    - C(procps "sysctl --system" applies) - with O(on_override=warn), a line that a procps C(sysctl --system) run
      applies after O(path).
    - C(path changed) - O(path) replaced the managed files at an earlier path, whose settings carried over.
    - C(stay reserved and are never released by this module) - the managed file's ownership state
      does not match its seal (edited, truncated, or not written by this module); its ports stay reserved.
    - C(its ports count as foreign) - the namespace's ownership record under C(/run/portguard-ephemeral) is not one
      this module wrote (a plain-text record, a damaged one); it is replaced and releases nothing.
    - C(was written by portguard.ephemeral 0.2.0) - a 0.2.0 file or record; its ports are held by owner V(unnamed)
      from now on, nothing is released (once, on the first run after the upgrade).
    - C(was interrupted) - a killed run's journal was found; this run finishes it.
    - C(ignored the journal of an interrupted run) - a journal that is not sealed for this namespace and boot.
    - C(removed temporary files that killed runs left behind) - leftovers of killed runs, removed.
    - C(not a regular file) - a C(*.conf) name in a sysctl directory is a FIFO, socket or directory, and is skipped.
    - C(dropped your ports) - an C(exact) run of another owner dropped this owner's ports since its last run;
      this run reserves them again.
    - "C(mode: exact dropped the ports) - this C(exact) run took ports from other owners (see RV(dropped))."
    - "C(check mode: the real run would fail) - in check mode, the live values cannot be written by this user."
    - C(this change would leave) - with O(on_pressure=warn), destinations that would keep fewer free ports than
      O(min_free_per_destination) (see RV(pressure)).
    - C(no network namespace cookie) - a kernel before 5.14 keys live-only ownership records by the namespace's
      inode, which it reuses.
    - C(ignored an invalid value the kernel would reject at boot) - another sysctl file's reservation line that the
      kernel refuses.
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
        argument_spec=impl.ARGUMENT_SPEC,
        required_one_of=[('reserved', 'range')],
        supports_check_mode=True,
    )
    run_task(module, 'local_ports manages',
             lambda: impl.run(module.params, check_mode=module.check_mode, want_diff=module._diff))


if __name__ == '__main__':
    main()
