# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A connection that every host refuses: an unreachable host for the tests, on any controller (no ssh needed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
name: refused
short_description: A connection that is always refused (tests only)
description:
  - Every command, upload and download raises a connection failure, as a host that refuses connections does.
author: portguard maintainers
'''

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection import ConnectionBase

MESSAGE = 'connect to host %s port 22: Connection refused (the tests\' refused connection)'


class Connection(ConnectionBase):
    """Refuses everything."""

    transport = 'refused'
    has_pipelining = True

    def _refuse(self):
        raise AnsibleConnectionFailure(MESSAGE % self._play_context.remote_addr)

    def _connect(self):
        self._refuse()

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self._refuse()

    def put_file(self, in_path, out_path):
        self._refuse()

    def fetch_file(self, in_path, out_path):
        self._refuse()

    def close(self):
        self._connected = False
