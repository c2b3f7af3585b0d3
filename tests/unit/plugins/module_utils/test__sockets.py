# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""/proc/net/{tcp,tcp6,udp,udp6} parsing: addresses, ports, states, the port filter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import struct
import sys

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _sockets

TCP_HEADER = ('  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'
              '                                                     ')
TCP6_HEADER = ('  sl  local_address                         remote_address                        st tx_queue '
               'rx_queue tr tm->when retrnsmt   uid  timeout inode')
UDP_HEADER = ('   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode '
              'ref pointer drops             ')
HEADERS = {'tcp': TCP_HEADER, 'tcp6': TCP6_HEADER, 'udp': UDP_HEADER, 'udp6': TCP6_HEADER}


def kernel_hex(address):
    """The address as the kernel prints it: 32-bit words in this CPU's byte order, %08X each."""
    if ':' in address:
        words = struct.unpack('=4I', socket.inet_pton(socket.AF_INET6, address))
    else:
        words = struct.unpack('=I', socket.inet_pton(socket.AF_INET, address))
    return ''.join('%08X' % word for word in words)


def line(protocol, number, local, lport, remote, rport, state, uid=0, inode=0):
    """One line in the kernel's format (net/ipv4/tcp_ipv4.c get_tcp4_sock and friends)."""
    sl = '%4d' % number if protocol.startswith('tcp') else '%5d' % number
    return ('%s: %s:%04X %s:%04X %s 00000000:00000000 00:00000000 00000000 %5d        0 %d 1 '
            '0000000000000000 100 0 0 10 0' % (sl, kernel_hex(local), lport, kernel_hex(remote), rport,
                                               state, uid, inode))


def table(protocol, *lines):
    return (HEADERS[protocol] + '\n' + ''.join(entry + '\n' for entry in lines)).encode('ascii')


def test_decode_address_little_endian_literal():
    # What /proc/net/tcp shows on x86 for 127.0.0.1 and ::1.
    if sys.byteorder == 'little':
        assert _sockets.decode_address('0100007F') == '127.0.0.1'
        assert _sockets.decode_address('00000000000000000000000001000000') == '::1'
        assert _sockets.decode_address('B80D0120000000000000000001000000') == '2001:db8::1'
        assert _sockets.decode_address('0000000000000000FFFF00000100007F') == '::ffff:127.0.0.1'
    else:
        assert _sockets.decode_address('7F000001') == '127.0.0.1'
        assert _sockets.decode_address('00000000000000000000000000000001') == '::1'


@pytest.mark.parametrize('address', ['127.0.0.1', '10.1.2.3', '0.0.0.0', '::', '::1', 'fe80::1:2:3:4',
                                     '2001:db8:85a3::8a2e:370:7334', '::ffff:192.0.2.1'])
def test_decode_address_round_trip(address):
    assert _sockets.decode_address(kernel_hex(address)) == address


def test_decode_address_rejects_other_lengths():
    with pytest.raises(ValueError):
        _sockets.decode_address('0100007')


def listening(sock):
    """Whether a decoded socket is a listener, by the module's one test."""
    return sock.state_code == _sockets.listen_code(sock.protocol)


def test_parse_line_tcp_and_states():
    sock = _sockets.parse_line('tcp', line('tcp', 0, '127.0.0.1', 40003, '127.0.0.1', 5000, '06'))
    assert (sock.protocol, sock.local_address, sock.local_port, sock.remote_address, sock.remote_port) == (
        'tcp', '127.0.0.1', 40003, '127.0.0.1', 5000)
    assert sock.state == 'TIME_WAIT' and not listening(sock)
    assert sock.as_dict() == {'protocol': 'tcp', 'state': 'TIME_WAIT', 'address': '127.0.0.1',
                              'local': '127.0.0.1:40003', 'remote': '127.0.0.1:5000', 'uid': 0, 'inode': 0}
    listener = _sockets.parse_line('tcp6', line('tcp6', 1, '::1', 8080, '::', 0, '0A', uid=1000, inode=4242))
    assert listening(listener) and listener.state == 'LISTEN'
    assert listener.as_dict()['local'] == '[::1]:8080' and listener.as_dict()['remote'] == '[::]:0'
    assert (listener.uid, listener.inode) == (1000, 4242)


@pytest.mark.parametrize('code, name', sorted(_sockets.TCP_STATES.items()))
def test_every_tcp_state_has_a_name(code, name):
    sock = _sockets.parse_line('tcp', line('tcp', 0, '10.0.0.1', 1234, '10.0.0.2', 80, code))
    assert sock.state == name
    assert listening(sock) is (name == 'LISTEN')


def test_udp_unconnected_is_a_listener_connected_is_not():
    unconn = _sockets.parse_line('udp', line('udp', 0, '0.0.0.0', 53, '0.0.0.0', 0, '07'))
    connected = _sockets.parse_line('udp', line('udp', 1, '127.0.0.1', 40001, '127.0.0.1', 53, '01'))
    assert listening(unconn) and unconn.state == 'UNCONN'
    assert not listening(connected) and connected.state == 'ESTABLISHED'
    # TCP CLOSE (07) is not a listener.
    assert _sockets.listen_code('tcp') != '07'


def test_parse_line_rejects_short_lines():
    with pytest.raises(ValueError):
        _sockets.parse_line('tcp', '   0: 0100007F:1F90')


def test_scan_table_filters_on_the_local_port_only():
    data = table('tcp',
                 line('tcp', 0, '127.0.0.1', 8080, '0.0.0.0', 0, '0A'),
                 # 8080 as the *remote* port must not match.
                 line('tcp', 1, '127.0.0.1', 40001, '127.0.0.1', 8080, '01'),
                 line('tcp', 2, '127.0.0.1', 8080, '127.0.0.1', 40001, '01'),
                 line('tcp', 3, '127.0.0.1', 40002, '127.0.0.1', 9090, '06'))
    lines = _sockets._body(data)
    assert len(lines) == 4
    groups = _sockets.scan_table('tcp', lines, {8080, 40002})
    assert sorted(groups) == [8080, 40002]
    assert [code for code, _line in groups[8080]] == ['0A', '01']
    assert [code for code, _line in groups[40002]] == ['06']
    assert _sockets.scan_table('tcp', lines, set()) == {}
    assert sorted(_sockets.scan_table('tcp', lines, None)) == [8080, 40001, 40002]


def test_scan_table_ipv6_offsets_and_wide_sl():
    # sl wider than four digits (tables over 9999 lines) must not move the fields.
    data = table('tcp6',
                 line('tcp6', 12345, '::1', 443, '::', 0, '0A'),
                 line('tcp6', 123456, '2001:db8::5', 50000, '2001:db8::9', 443, '01'))
    groups = _sockets.scan_table('tcp6', _sockets._body(data), {443, 50000})
    assert sorted(groups) == [443, 50000]
    sock = _sockets.parse_line('tcp6', groups[50000][0][1])
    assert (sock.local_address, sock.remote_address, sock.remote_port) == ('2001:db8::5', '2001:db8::9', 443)


def test_listening_ports_in_finds_only_listeners():
    tcp = table('tcp',
                line('tcp', 0, '0.0.0.0', 22, '0.0.0.0', 0, '0A'),
                line('tcp', 1, '127.0.0.1', 40001, '127.0.0.1', 22, '01'),
                line('tcp', 2, '127.0.0.1', 5432, '0.0.0.0', 0, '07'))
    udp = table('udp',
                line('udp', 0, '0.0.0.0', 53, '0.0.0.0', 0, '07'),
                line('udp', 1, '127.0.0.1', 40002, '127.0.0.1', 53, '01'))
    tcp6 = table('tcp6', line('tcp6', 0, '::', 8443, '::', 0, '0A'))
    assert _sockets.listening_ports_in('tcp', tcp) == {22}
    assert _sockets.listening_ports_in('udp', udp) == {53}
    assert _sockets.listening_ports_in('tcp6', tcp6) == {8443}
    assert _sockets.listening_ports_in('udp6', b'') == set()


def _fake_tables(tmp_path, **tables):
    for protocol in _sockets.PROTOCOLS:
        data = tables.get(protocol, table(protocol))
        (tmp_path / protocol).write_bytes(data)
    return str(tmp_path)


def test_read_sockets_groups_and_counts(tmp_path):
    directory = _fake_tables(
        tmp_path,
        tcp=table('tcp',
                  line('tcp', 0, '127.0.0.1', 5000, '0.0.0.0', 0, '0A'),
                  line('tcp', 1, '127.0.0.1', 40003, '127.0.0.1', 5000, '06'),
                  line('tcp', 2, '127.0.0.1', 40004, '127.0.0.1', 5000, '01', inode=77),
                  line('tcp', 3, '127.0.0.1', 5000, '127.0.0.1', 40004, '01', inode=78)),
        udp6=table('udp6', line('udp6', 0, '::1', 40003, '::1', 53, '01')))
    found = _sockets.read_sockets({40003, 5000, 9999}, directory)
    assert found.counts == {'tcp': 4, 'tcp6': 0, 'udp': 0, 'udp6': 1}
    assert found.total == 5
    held = found.get(40003)
    assert held.listener_count == 0 and len(held.holders()) == 2
    assert held.holder_states() == {'tcp TIME_WAIT': 1, 'udp6 ESTABLISHED': 1}
    assert [s.protocol for s in held.holders()] == ['tcp', 'udp6']
    assert [s.as_dict()['remote'] for s in held.holders(limit=1)] == ['127.0.0.1:5000']
    server = found.get(5000)
    assert server.listener_count == 1 and len(server.holders()) == 1
    assert server.listeners()[0].local_address == '127.0.0.1'
    assert len(found.get(9999).holders()) == 0 and found.get(9999).listener_count == 0
    assert found.listening_ports() == frozenset([5000])

    every_listener = _sockets.read_sockets(None, directory)
    assert every_listener.listening_ports() == frozenset([5000])
    assert sorted(every_listener.ports) == [5000]        # only listening ports are decoded


def test_read_sockets_missing_table_counts_zero(tmp_path):
    (tmp_path / 'tcp').write_bytes(table('tcp', line('tcp', 0, '0.0.0.0', 22, '0.0.0.0', 0, '0A')))
    found = _sockets.read_sockets(None, str(tmp_path))
    assert found.counts == {'tcp': 1, 'tcp6': 0, 'udp': 0, 'udp6': 0}
    assert found.listening_ports() == frozenset([22])


def test_real_tables_of_this_namespace_show_our_sockets():
    """Read-only: sockets this test opens are seen in the current namespace's tables."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client = None
    try:
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        udp.bind(('127.0.0.1', 0))
        udp_port = udp.getsockname()[1]
        client = socket.create_connection(('127.0.0.1', port))
        client_port = client.getsockname()[1]
        found = _sockets.read_sockets({port, udp_port, client_port})
        assert [s.local_address for s in found.get(port).listeners()] == ['127.0.0.1']
        assert [(s.protocol, s.state) for s in found.get(udp_port).listeners()] == [('udp', 'UNCONN')]
        held = found.get(client_port).holders()
        assert [(s.state, s.remote_port) for s in held] == [('ESTABLISHED', port)]
        assert found.total >= 3
        assert found.directory in ('/proc/thread-self/net', '/proc/self/net')
    finally:
        for sock in (listener, udp, client):
            if sock is not None:
                sock.close()
