#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: local_ports_info
short_description: Report whether service ports can be taken by the kernel's ephemeral port assignment
version_added: 0.1.0
description:
  - Reports, for each examined port, whether the kernel's ephemeral port assignment can take it - is it inside
    the ephemeral range, is it reserved now and after a reboot, and which socket and process hold it right now.
  - Also reports which sysctl file sets each key at boot, the drift between the live and the boot values, and the
    listeners inside the range whose port is not reserved. Changes nothing; C(changed) is always V(false).
author:
  - portguard maintainers (@portguard)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - portguard.ephemeral.netns
  - portguard.ephemeral.port_sysctls
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode returns the same result.
  diff_mode:
    support: none
options:
  examine:
    description:
      - Service ports to examine. A list of ports (integers) and ranges (strings C("LOW-HIGH")), or a
        string in the kernel's syntax (C("8080-8082,9000")); the same syntax as
        O(portguard.ephemeral.local_ports#module:reserved).
      - Only the socket table lines on these ports are decoded, which keeps the module fast on hosts with
        many sockets.
      - Omit it to examine every port that has a listener (a TCP socket in LISTEN or a bound, unconnected UDP
        socket). An empty list examines no port.
      - The same option as O(portguard.ephemeral.local_ports#module:examine). Its old name O(ports) is a
        deprecated alias, to be removed in 1.0.0.
    aliases: [ports]
    type: raw
  pressure_limit:
    description:
      - How many destinations RV(pressure) lists, the tightest first (fewest ports left). Every destination is
        counted in RV(pressure.destination_count) whatever the limit; V(0) lists none.
    type: int
    default: 10
    version_added: 0.3.0
notes:
  - It reads C(net.ipv4.ip_local_port_range) and C(net.ipv4.ip_local_reserved_ports) in the running kernel,
    resolves which sysctl.d file sets each of them at boot (systemd-sysctl's rules), and reads the sockets of the
    network namespace from C(/proc/net/tcp), C(tcp6), C(udp) and C(udp6).
  - It answers the questions behind "Address already in use" when no process owns the port, such as a TIME_WAIT
    left by an outgoing connection.
  - It names the processes (pid, command name, user) behind every listed listener and holder, the way C(ss -p)
    does, and lists the listeners inside the ephemeral range whose port is not reserved
    (RV(unreserved_listeners)), the services nobody declared.
  - It also resolves, for each key, what a procps C(sysctl --system) run would leave
    (C(boot.<key>.sysctl_system)), because that command applies C(/etc/sysctl.conf) again after every sysctl.d
    file, even when C(99-sysctl.conf) links to it (measured with procps-ng 4.0.2 on Debian 12 and 4.0.4 on
    Debian 13). A port that such a run would leave in the ephemeral range and unreserved is at risk.
  - RV(drift) compares the live values with the values the host gets at boot, as port sets and numbers. It
    catches a reservation list that a later procps C(sysctl --system) or C(sysctl -p) truncated (procps writes at
    most 4095 bytes).
  - Needs root to enter another namespace with O(netns). Reading the current namespace needs no privileges.
  - A socket that is not a listener is listed as a holder of its local port. When a port has holders and no
    listener, a service that binds it now fails with C(EADDRINUSE), even with C(SO_REUSEADDR), as long as
    the holder is an ordinary outgoing connection (ESTABLISHED, FIN_WAIT2 or TIME_WAIT, which lasts 60
    seconds). Reserving the port does not free it; it stops the kernel from choosing it again.
  - A bound, unconnected UDP socket is counted as a listener, as C(ss -l) does; the tables cannot tell a
    UDP service from a UDP client that sent a datagram without connecting.
  - RV(pressure) counts, per destination, the local ports of the effective ephemeral range that sockets to it
    hold, and how many are left for a new connection to it. The rules (which sockets count, why UDP has no
    local address, what is held for every destination) are in the collection's C(docs/choosing.md).
  - Processes are found as C(ss -p) finds them, the socket's inode against the C(socket:[INODE]) links under
    C(/proc/PID/fd), in one pass over the processes and only when a listed socket has an inode. Only processes
    whose C(/proc/PID/ns/net) is the examined namespace are read; a socket handed to a process of another
    namespace (descriptor passing, a process that created it and then changed namespace) is reported with
    C(no_process=not_found). Reading other users' descriptors needs root; without it their sockets are
    C(not_found) too. User names are resolved with this host's user database, which may not be a container's.
seealso:
  - module: portguard.ephemeral.local_ports
'''

EXAMPLES = r'''
- name: Is anything holding the service ports, and are they protected?
  portguard.ephemeral.local_ports_info:
    examine: [8080, 8443, "9000-9010"]
  register: ports_info

- name: Fail when a service port can be taken by an outgoing connection
  ansible.builtin.assert:
    that: ports_info.ports | selectattr('at_risk') | list | length == 0
    fail_msg: "{{ ports_info.ports | selectattr('at_risk') | map(attribute='port') | list }} at risk"

- name: Detect reservations lost since boot (a truncating sysctl --system run)
  portguard.ephemeral.local_ports_info:
    examine: []
  register: drift_check

- name: Show what is missing
  ansible.builtin.debug:
    var: drift_check.drift
  when: drift_check.drift.detected

- name: Every listening port of a container's network namespace
  portguard.ephemeral.local_ports_info:
    netns: /run/netns/app1

- name: Who holds the service port?
  ansible.builtin.debug:
    msg: >-
      {{ item.port }}: {{ item.holders | map(attribute='state') | list }} by
      {{ item.holders | map(attribute='process') | select | map(attribute='comm') | list }}
  loop: "{{ ports_info.ports | selectattr('holder_count') | list }}"

- name: The destinations with the fewest ephemeral ports left
  ansible.builtin.debug:
    msg: >-
      {{ item.protocol }} {{ item.local_address or '*' }} -> {{ item.remote_address }}:{{ item.remote_port }}:
      {{ item.in_use }} in use ({{ item.states }}), {{ item.left }} left of {{ ports_info.pressure.effective }}
  loop: "{{ ports_info.pressure.destinations }}"

- name: Fail on listeners inside the ephemeral range that are not reserved, except port-0 services
  ansible.builtin.assert:
    that: ports_info.unreserved_listeners | rejectattr('binds_port_zero_likely') | list | length == 0
    fail_msg: >-
      {{ ports_info.unreserved_listeners | rejectattr('binds_port_zero_likely')
         | map(attribute='local') | list }} listen inside the ephemeral range, not reserved
'''

RETURN = r'''
range:
  description: The live ephemeral port range, as [LOW, HIGH].
  returned: always
  type: list
  elements: int
  sample: [32768, 60999]
reserved:
  description: The live reservations, a port set. Every port set in this result (and in
    M(portguard.ephemeral.local_ports)'s) has these three keys.
  returned: always
  type: dict
  contains:
    canonical:
      description: The kernel's canonical form (ascending, maximal runs as C(A-B)).
      type: str
      sample: "8080-8082,9000"
    ranges:
      description: The same as a list, integers for single ports and C("A-B") strings for runs.
      type: list
      elements: raw
      sample: ["8080-8082", 9000]
    count:
      description: How many ports are reserved.
      type: int
      sample: 4
reserved_outside_range:
  description: Reserved ports that lie outside the live ephemeral range, a port set as in RV(reserved); no effect
    until the range grows over them.
  returned: always
  type: dict
  sample: {"canonical": "9100", "ranges": [9100], "count": 1}
ephemeral_ports:
  description: How many ports remain for automatic assignment (range size minus the reserved ports inside it).
  returned: always
  type: int
  sample: 28228
boot:
  description:
    - For each of the two keys, the value systemd-sysctl applies at boot and every file that sets it, resolved
      with its rules (directories C(/etc/sysctl.d), C(/run/sysctl.d), C(/usr/local/lib/sysctl.d) and
      C(/usr/lib/sysctl.d); same-name files in earlier directories hide later ones; a C(/dev/null) link or an
      empty file masks; the file whose name sorts last wins; C(/etc/sysctl.conf) only through a link such as
      C(99-sysctl.conf)).
    - When no file sets a key, C(source) is C(kernel default) and C(value) is what the kernel starts with,
      C(32768 60999) for the range and an empty reservation list.
  returned: always
  type: dict
  sample:
    net.ipv4.ip_local_reserved_ports:
      value: "8080,9000"
      source: file
      file: /etc/sysctl.d/zz-portguard-ephemeral.conf
      line: 5
      via: null
      valid: true
      error: null
      entries:
        - {file: /usr/lib/sysctl.d/50-app.conf, line: 1, value: "8080", via: null, status: overridden,
           by: /etc/sysctl.d/zz-portguard-ephemeral.conf}
        - {file: /etc/sysctl.d/zz-portguard-ephemeral.conf, line: 5, value: "8080,9000", via: null,
           status: winner, by: null}
      masked: []
      procps_override: null
      sysctl_system: {value: "8080", source: file, file: /etc/sysctl.conf, line: 3, via: null, differs: true,
                      refused: []}
  contains:
    value:
      description: The value set at boot, as written in the file, or the kernel default.
      type: str
    source:
      description: C(file) or C(kernel default).
      type: str
    file:
      description: The file that sets the key at boot (the winner), or C(null).
      type: str
    line:
      description: The line in that file, or C(null).
      type: int
    via:
      description: When the winning file is a link (C(/etc/sysctl.d/99-sysctl.conf)), the file it reaches
        (C(/etc/sysctl.conf)).
      type: str
    valid:
      description: V(false) when the winning value is one the kernel refuses (or reads as octal); the boot value
        is then taken as the kernel default, and a warning says why.
      type: bool
    error:
      description: Why the value is not valid, or C(null).
      type: str
    entries:
      description:
        - Every assignment of the key in the sysctl.d files, in the order systemd-sysctl applies them, then the
          ones it never reads.
        - C(status) is C(winner), C(overridden) (applied earlier, the winner replaces it), C(hidden) (a file of
          the same name in an earlier directory is read instead) or C(masked) (that same-name file is a mask).
          C(by) names the file responsible.
      type: list
      elements: dict
    masked:
      description: Masks (a C(/dev/null) link or empty file) and the same-name files they hide.
      type: list
      elements: dict
      sample: [{file: /etc/sysctl.d/50-app.conf, hides: [/usr/lib/sysctl.d/50-app.conf]}]
    procps_override:
      description: An assignment in C(/etc/sysctl.conf) when no sysctl.d link reaches that file. systemd-sysctl
        ignores it at boot, a procps C(sysctl --system) applies it last. C(null) when there is none. See
        C(sysctl_system) for the whole answer, which also covers the linked case.
      type: dict
    sysctl_system:
      description:
        - What a procps C(sysctl --system) run leaves for the key after boot. procps reads C(/etc/sysctl.d),
          C(/run/sysctl.d), C(/usr/local/lib/sysctl.d), C(/usr/lib/sysctl.d) and C(/lib/sysctl.d) (hidden
          C(.name.conf) files included), applies the files in file-name order, then C(/etc/sysctl.conf) when it
          is a regular file, even when C(99-sysctl.conf) already linked to it. It writes every line, so the last
          line the kernel accepts decides; C(-key) only keeps glob lines away from the key.
        - C(value), C(file), C(line) and C(via) describe that line; C(source) is C(file), or C(unchanged) when no
          line sets the key (C(value) is then the boot value). C(differs) is V(true) when the result differs from
          the boot value, with a warning naming the line. C(refused) lists lines with values the kernel refuses,
          which procps skips.
      type: dict
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
  returned: always
  type: list
  elements: dict
  version_added: 0.3.0
  sample:
    - {name: systemd-sysctl, source: "/run/systemd/system exists: systemd is PID 1", modelled: true}
    - {name: tuned, profile: oracle, reapply_sysctl: true, version: "2.20", modelled: true, note: null,
       source: /etc/systemd/system/multi-user.target.wants/tuned.service}
drift:
  description: Live values compared with the boot values (ranges as numbers, reservations as sets). From 0.3.0
    the boot values are the values after the whole boot chain (C(boot.<key>.after_boot)) when it knows them, so
    a value tuned sets after boot is no drift.
  returned: always
  type: dict
  sample: {detected: true, range: null, note: null,
           reserved: {missing: {canonical: "2661,2663,...", ranges: [2661, 2663, "..."], count: 31438},
                      extra: {canonical: "", ranges: [], count: 0}}}
  contains:
    detected:
      description: V(true) when the live values differ from the boot values; V(null) when O(netns) names another
        namespace (no boot value applies to it).
      type: bool
    range:
      description: The live and boot ranges (C({live, boot})) when they differ, else C(null).
      type: dict
    reserved:
      description: When the reservations differ, the ports reserved at boot but not live (C(missing)) and live
        but not at boot (C(extra)), each a port set as in RV(reserved); else C(null).
      type: dict
    note:
      description: Why there is no comparison, or C(null).
      type: str
ports:
  description: One entry per examined port, ascending.
  returned: always
  type: list
  elements: dict
  sample:
    - port: 40003
      in_range: true
      reserved_live: false
      in_range_boot: true
      reserved_boot: false
      in_range_sysctl_system: true
      reserved_sysctl_system: false
      listeners: []
      listener_count: 0
      holders:
        - {protocol: tcp, state: TIME_WAIT, address: 127.0.0.1, local: "127.0.0.1:40003",
           remote: "127.0.0.1:5000", uid: 0, inode: 0, process: null, processes: [], process_count: 0,
           no_process: kernel_only}
      holder_count: 1
      holder_states: {"tcp TIME_WAIT": 1}
      at_risk: true
      reason: "held by an outgoing connection in TIME_WAIT: a restart would fail now"
    - port: 36601
      in_range: true
      reserved_live: true
      in_range_boot: true
      reserved_boot: true
      listeners: []
      listener_count: 0
      holders:
        - {protocol: tcp, state: ESTABLISHED, address: 10.0.0.5, local: "10.0.0.5:36601",
           remote: "10.0.0.9:443", uid: 0, inode: 2795431,
           process: {pid: 48121, comm: curl, uid: 0, user: root},
           processes: [{pid: 48121, comm: curl, uid: 0, user: root}], process_count: 1, no_process: null}
      holder_count: 1
      holder_states: {"tcp ESTABLISHED": 1}
      at_risk: true
      reason: "held by an outgoing connection in ESTABLISHED: a restart would fail now"
  contains:
    port:
      description: The port.
      type: int
    in_range:
      description: Inside the live ephemeral range.
      type: bool
    reserved_live:
      description: In the live reservations.
      type: bool
    in_range_boot:
      description: Inside the range after boot (after the whole boot chain when it is known); C(null) with O(netns) for another namespace.
      type: bool
    reserved_boot:
      description: In the reservations after boot (after the whole boot chain when it is known); C(null) with O(netns) for another namespace.
      type: bool
    in_range_sysctl_system:
      description: Inside the range a procps C(sysctl --system) run leaves (see RV(boot)); C(null) with O(netns)
        for another namespace.
      type: bool
    reserved_sysctl_system:
      description: In the reservations a procps C(sysctl --system) run leaves; C(null) with O(netns) for another
        namespace.
      type: bool
    listeners:
      description:
        - Listeners on the port (TCP LISTEN, bound unconnected UDP), with C(protocol) (C(tcp), C(tcp6), C(udp),
          C(udp6)), local C(address), C(local) as C(address:port), the socket's C(uid) and C(inode); at most 20
          are listed.
        - Each names its processes with the keys described under RV(unreserved_listeners) (C(process),
          C(processes), C(process_count), C(no_process)).
      type: list
      elements: dict
    listener_count:
      description: How many listeners there are.
      type: int
    holders:
      description:
        - Sockets on the port that are not listeners, with C(protocol), C(state) (C(ESTABLISHED), C(TIME_WAIT),
          C(FIN_WAIT2), ...), local C(address), C(local) and C(remote) as C(address:port), C(uid) and C(inode)
          (0 for TIME_WAIT, which no process owns); at most 20 are listed.
        - Each names its processes with the keys described under RV(unreserved_listeners) (C(process),
          C(processes), C(process_count), C(no_process)); a TIME_WAIT holder has C(process=null) and
          C(no_process=kernel_only).
      type: list
      elements: dict
    holder_count:
      description: How many holders there are.
      type: int
    holder_states:
      description: Holders counted by protocol and state.
      type: dict
    at_risk:
      description: V(true) when a service binding the port can fail, now or after a reboot.
      type: bool
    reason:
      description:
        - "Why, in words. At risk: C(held by an outgoing connection in STATE: a restart would fail now) (the port
          has holders and no listener), C(in the ephemeral range and not reserved), C(reserved now but not at
          boot: ...), C(outside the ephemeral range now, but after a reboot ...) or C(safe now and after a reboot, but
          a procps sysctl --system run leaves it ...). Not at risk: C(reserved) or C(outside the ephemeral
          range)."
      type: str
unreserved_listeners:
  description:
    - Every listener (TCP LISTEN, bound unconnected UDP) inside the live ephemeral range on a port that is not
      reserved, whether or not O(examine) names it, ascending by port. These are the services nobody declared - an
      outgoing connection can take their port while they are stopped, and then they cannot start.
    - At most 200 are listed; RV(unreserved_listener_count) counts them all.
  returned: always
  type: list
  elements: dict
  sample:
    - {port: 36601, protocol: tcp, address: 0.0.0.0, local: "0.0.0.0:36601", uid: 1001, inode: 2795102,
       process: {pid: 2210, comm: node, uid: 1001, user: app},
       processes: [{pid: 2210, comm: node, uid: 1001, user: app}], process_count: 1, no_process: null,
       binds_port_zero_likely: false}
    - {port: 45871, protocol: udp, address: 0.0.0.0, local: "0.0.0.0:45871", uid: 0, inode: 18342,
       process: {pid: 611, comm: rpc.statd, uid: 0, user: root},
       processes: [{pid: 611, comm: rpc.statd, uid: 0, user: root}], process_count: 1, no_process: null,
       binds_port_zero_likely: true}
  contains:
    port:
      description: The port.
      type: int
    protocol:
      description: C(tcp), C(tcp6), C(udp) or C(udp6).
      type: str
    address:
      description: Local address.
      type: str
    local:
      description: C(address:port) (C([address]:port) for IPv6).
      type: str
    uid:
      description: The socket's owner uid, as the kernel's table shows it.
      type: int
    inode:
      description: The socket's inode (what C(/proc/PID/fd) links name).
      type: int
    process:
      description: The holding process with the lowest pid (C({pid, comm, uid, user})), or C(null) when none
        was found; C(comm) is C(/proc/PID/comm) (at most 15 characters), C(uid) the effective uid, C(user) its
        name or C(null) when this host cannot resolve it. The same keys are added to every listed listener and
        holder of RV(ports).
      type: dict
    processes:
      description: Every process holding the socket (processes sharing it after a fork), ascending pid, at
        most 10.
      type: list
      elements: dict
    process_count:
      description: How many processes hold the socket.
      type: int
    no_process:
      description:
        - C(null) when a process was found. Otherwise why not.
        - C(kernel_only) - the socket has inode 0, the kernel holds it alone (TIME_WAIT, a connection its
          process has already closed, a half-open request); no process can be named, the port frees itself.
        - C(not_found) - no process of the examined namespace readable by this user holds it (it exited
          meanwhile, its descriptors are not readable without root, or it lives in another namespace).
      type: str
    binds_port_zero_likely:
      description: V(true) when a holding process is one that listens on a port the kernel picks (bind to
        port 0) by design, so the port moves on restart and reserving it is pointless - C(rpc.statd),
        C(rpc.mountd), C(rpcbind), C(ypbind), C(java) (RMI, JMX), C(dhclient), C(avahi-daemon).
      type: bool
unreserved_listener_count:
  description: How many listeners RV(unreserved_listeners) would list without its limit.
  returned: always
  type: int
  sample: 2
process_scan:
  description: The pass over C(/proc) that named the processes - C(looked_up) (V(false) when no listed socket
    had an inode, then nothing was read), and how many processes were C(scanned), C(skipped) (vanished or
    unreadable) or in another network namespace (C(other_netns), not read).
  returned: always
  type: dict
  sample: {looked_up: true, scanned: 143, skipped: 0, other_netns: 12}
sockets:
  description: How many sockets each table holds (every socket, not only the examined ports), their C(total),
    and the C(source) directory read.
  returned: always
  type: dict
  sample: {tcp: 4, tcp6: 1, udp: 2, udp6: 0, total: 7, source: /proc/thread-self/net}
owners:
  description:
    - Who holds which reserved ports in the namespace, as M(portguard.ephemeral.local_ports) keeps them (the
      managed file for owners whose runs persist, the namespace record under C(/run/portguard-ephemeral) for
      live-only owners), as owner name to a port set (C(canonical), C(ranges), C(count)). Read without a
      lock. Ports none of these owners holds were reserved by other writers.
  returned: always
  type: dict
  sample: {"reserved_ports": {"canonical": "36601,37601,38601", "ranges": [36601, 37601, 38601], "count": 3}}
  version_added: 0.3.0
pressure:
  description:
    - Ephemeral port pressure per destination. A new outgoing connection needs a local port of the effective range
      that is free for its destination, so a host that talks to one database or proxy a lot can run out of ports for
      it while the range looks large. TCP exhaustion is per 4-tuple; UDP autobind needs a port no UDP socket uses.
    - Not counted - listeners, and sockets on a listener's port (the server side of accepted connections). With a
      60 second TIME_WAIT, a destination sustains about C(left) / 60 new connections per second on top of today's.
      The rules are in the collection's C(docs/choosing.md).
  returned: always
  type: dict
  version_added: 0.3.0
  sample:
    range: [32768, 60999]
    effective: 28232
    held_for_every_destination: {tcp: 1, udp: 3}
    destination_count: 2
    limit: 10
    destinations:
      - {protocol: tcp, remote_address: 10.0.0.9, remote_port: 5432, local_address: 10.0.0.5, in_use: 21480,
         states: {ESTABLISHED: 480, TIME_WAIT: 21000}, outside_range: 0, left: 6751}
      - {protocol: udp, remote_address: 10.0.0.53, remote_port: 53, local_address: null, in_use: 2,
         states: {ESTABLISHED: 2}, outside_range: 0, left: 28229}
  contains:
    range:
      description: The live ephemeral range, [LOW, HIGH].
      type: list
      elements: int
    effective:
      description: The range size minus the reserved ports inside it (RV(ephemeral_ports)), the ports an automatic
        choice can take.
      type: int
    held_for_every_destination:
      description: Ports of the effective range that no new connection can get, whatever its destination -
        C(tcp) the ports of TCP listeners (held by C(bind())), C(udp) every port a UDP socket uses.
      type: dict
    destination_count:
      description: How many destinations have sockets (every one, whatever the limit).
      type: int
    limit:
      description: How many destinations are listed at most (O(pressure_limit)).
      type: int
    destinations:
      description: The first C(limit) destinations by C(left), fewest first (then most C(in_use) first).
      type: list
      elements: dict
      contains:
        protocol:
          description: C(tcp) or C(udp). IPv4 and IPv6 share each; TCP and UDP are separate port spaces.
          type: str
        remote_address:
          description: The remote address; an IPv4-mapped IPv6 address (C(::ffff:10.0.0.9)) is shown as the IPv4
            address, whose 4-tuples it shares.
          type: str
        remote_port:
          description: The remote port.
          type: int
        local_address:
          description: The local address (TCP, part of the 4-tuple); C(null) for UDP, whose port choice does not
            depend on it.
          type: str
        in_use:
          description: Distinct local ports of the effective range held by sockets to this destination.
          type: int
        states:
          description: Those sockets by state (C(ESTABLISHED), C(TIME_WAIT), ...).
          type: dict
        outside_range:
          description: Sockets to this destination on local ports outside the effective range (outside the range, or
            reserved); they take nothing from it.
          type: int
        left:
          description: The ports of the effective range a new connection to this destination can still get.
          type: int
netns:
  description: Identity of the network namespace examined (nsfs inode and device, the C(net:[...]) link), and
    O(netns) as given, so a report tells the host from a container.
  returned: always
  type: dict
  sample: {"inode": 4026531840, "dev": 4, "link": "net:[4026531840]", "path": null}
warnings:
  description:
    - Plain-language warnings about the live and boot values, shown as the task's warnings. Each kind of warning is
      listed below with a phrase its text contains.
    - C(both ends are) - the ephemeral range's ends have the same parity, so C(connect()) to a fixed destination
      never gets one edge port.
    - C(skews the kernel's port choice) - a reserved block of 1024 ports or more inside the ephemeral range.
    - C(bytes long) - the reservation list is over 4095 bytes, which a later procps C(sysctl -p) or
      C(sysctl --system) would truncate.
    - C(at boot:) - the same three checks on the boot values, when they differ from the live ones.
    - C(to a value the kernel refuses or misreads at boot) - the file that wins at boot sets a value the kernel
      refuses; the boot value is then the kernel's default.
    - C(systemd-sysctl ignores that file at boot, but a later procps) - a line only a procps C(sysctl --system) run
      applies.
    - C(a procps "sysctl --system" run sets) - a procps C(sysctl --system) run would set another value than the boot
      value.
    - C(not a regular file) - a C(*.conf) name in a sysctl directory is a FIFO, socket or directory.
    - C(after boot is not known) - a program that applies sysctls at boot is not modelled (Alpine's OpenRC
      C(sysctl) service, a tuned profile with variables).
    - C(cannot read the ownership records) - RV(owners) could not be read (the state directory or a record is not
      a regular file or directory).
    - C(was written by portguard.ephemeral 0.2.0) - a 0.2.0 file or record; the next local_ports run holds its
      ports for owner V(unnamed).
    - C(stay reserved and are never released by this module) - the managed file's ownership state
      does not match its seal.
    - C(its ports count as foreign) - the namespace's ownership record is not one local_ports wrote.
    - C(was interrupted) - a killed local_ports run's journal; the next run that changes the namespace finishes it.
    - C(ignored the journal of an interrupted run) - a journal not sealed for this namespace and boot.
  returned: when there is something to warn about
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portguard.ephemeral.plugins.module_utils import _local_ports_info as impl
from ansible_collections.portguard.ephemeral.plugins.module_utils._task import run_task


def main():
    module = AnsibleModule(argument_spec=impl.ARGUMENT_SPEC, supports_check_mode=True)
    run_task(module, 'local_ports_info reads', lambda: impl.run(module.params))


if __name__ == '__main__':
    main()
