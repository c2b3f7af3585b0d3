# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""local_ports_info's options: every problem names the option and the value."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portguard.ephemeral.plugins.module_utils import _local_ports_info as info


def test_parse_options_names_the_option():
    with pytest.raises(info.TaskError) as exc:
        info.parse_options({'examine': 'abc'})
    assert str(exc.value).startswith("examine: 'abc'")
    with pytest.raises(info.TaskError) as exc:
        info.parse_options({'netns': 'run/netns/x'})
    assert 'netns' in str(exc.value)
    assert info.parse_options({'examine': [80, '90-91']}).examine == frozenset([80, 90, 91])
    assert info.parse_options({}).examine is None
