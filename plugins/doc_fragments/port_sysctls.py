# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module on the two port sysctls documents alike: the platform and the kernel's reference."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
attributes:
  platform:
    platforms: linux
seealso:
  - name: ip-sysctl documentation
    description: The kernel's description of ip_local_port_range and ip_local_reserved_ports.
    link: https://docs.kernel.org/networking/ip-sysctl.html
'''
