# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The writes of one run, in order, each undone in reverse when a later one fails, with a message that says so.

Private to the collection; standard library only.  A failed run leaves the
kernel and the files as they were; its message names the step that failed and
what was undone, or says loudly what could not be.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible_collections.portguard.ephemeral.plugins.module_utils import _kernel, _managed_file
from ansible_collections.portguard.ephemeral.plugins.module_utils._state_dir import StateError
from ansible_collections.portguard.ephemeral.plugins.module_utils._task import TaskError


class Transaction(object):
    """Steps done so far and how to undo each: (what was undone, what the attempt was, function)."""

    def __init__(self, proc_sys=_kernel.PROC_SYS, root='/'):
        self.proc_sys = proc_sys
        self.root = root
        self.undo = []
        self.undo_failed = False

    def _step(self, what, action):
        try:
            action()
        except TaskError:
            raise
        except (IOError, OSError, StateError) as exc:
            raise TaskError(self.rolled_back('%s failed: %s' % (what, exc)))

    def live(self, before, after):
        """Make the live values ``after``; _kernel.apply restores on its own failure and says so."""
        try:
            _kernel.apply(before, after, self.proc_sys)
        except _kernel.SysctlError as exc:
            raise TaskError(self.rolled_back(str(exc), own_message=True))
        self.undo.append(('the live values were restored', 'restoring the live values',
                          functools.partial(_kernel.apply, after, before, self.proc_sys)))

    def write_file(self, managed, text):
        """Replace (or create) the managed file ``managed`` (a ManagedFile as read) with ``text``."""
        path = managed.path
        self._step('writing %s' % path, functools.partial(_managed_file.write_atomic, path, text, 0o644, self.root))
        if managed.exists:
            self.undo.append(('%s was put back' % path, 'putting back %s' % path,
                              functools.partial(_managed_file.write_atomic, path, managed.text, managed.mode,
                                                self.root)))
        else:
            self.undo.append(('%s was removed again' % path, 'removing %s again' % path,
                              functools.partial(_managed_file.remove, path, self.root)))

    def remove_file(self, managed):
        """Remove an earlier managed file."""
        path = managed.path
        self._step('removing the replaced file %s' % path, functools.partial(_managed_file.remove, path, self.root))
        self.undo.append(('%s was put back' % path, 'putting back %s' % path,
                          functools.partial(_managed_file.write_atomic, path, managed.text, managed.mode,
                                            self.root)))

    def write_record(self, state, name, text):
        """Replace a record in the state directory (the last step: nothing after it to undo for)."""
        self._step('recording the owned ports in %s' % state.full(name), functools.partial(state.write, name, text))

    def rolled_back(self, message, own_message=False):
        """Undo every step done, in reverse; ``message`` with what was (or could not be) undone."""
        done, failed = [], []
        for what, attempt, function in reversed(self.undo):
            try:
                function()
                done.append(what)
            except (IOError, OSError, _kernel.SysctlError) as undo_exc:
                failed.append('%s failed: %s' % (attempt, undo_exc))
        self.undo = []
        self.undo_failed = bool(failed)
        if failed:
            message += '. UNDO FAILED, check the host by hand: %s' % '; '.join(failed)
            if done:
                message += ' (undone: %s)' % ', '.join(done)
        elif done:
            message += '; everything this run changed was undone: %s' % ', '.join(done)
        elif not own_message:
            message += '; nothing was changed'
        return message
