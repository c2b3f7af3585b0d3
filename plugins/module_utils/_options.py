# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A module's options as one named record, defaults taken from its argument spec (written once, in the spec).

Private to the collection; standard library only.  AnsibleModule fills in the
defaults before the work sees the parameters; callers without AnsibleModule
(tests, benchmarks) get the same defaults from the same spec.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.portguard.ephemeral.plugins.module_utils._task import TaskError


class Options(object):
    """Every option of ``spec`` as an attribute: the value given, else the spec's default, else None.

    Choices and integers are checked as AnsibleModule checks them (it does so
    first in a task; this covers callers without it), naming the option.
    """

    def __init__(self, spec, params):
        for name, option in spec.items():
            value = params.get(name)
            if value is None:
                value = option.get('default')
            wrong_type = option.get('type') == 'int' and (isinstance(value, bool) or not isinstance(value, int))
            if value is not None and wrong_type:
                raise TaskError('%s: %r is not a number; give a whole number' % (name, value), option=name)
            if value is not None and 'choices' in option and value not in option['choices']:
                raise TaskError('%s: %r is not one of %s' % (name, value, ', '.join(option['choices'])), option=name)
            setattr(self, name, value)


def default(spec, name):
    """The default an argument spec declares for ``name``."""
    return spec[name].get('default')


def absolute_path(value, option, hint):
    """Refuse an empty or relative path option (None is fine: the option was not given)."""
    if value is None:
        return
    if not str(value).strip():
        raise TaskError('%s: %r is empty; %s; nothing was changed' % (option, value, hint), option=option)
    if not os.path.isabs(value):
        raise TaskError('%s: %r is not an absolute path; %s; nothing was changed' % (option, value, hint),
                        option=option)
