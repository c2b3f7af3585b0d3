# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-playbook runs of this checkout: which program, which arguments, which environment.

The controller is the tool venv (.venv), or the one PORTGUARD_VENV names (scripts/controller.sh sets
it for the newer ansible-core controller in the Debian 13 root).  portguard.ephemeral resolves to
this checkout through .cache/collections (scripts/lib.sh pg_link_collection, `make collection`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(os.environ.get('PORTGUARD_VENV') or os.path.join(REPO, '.venv'), 'bin')
COLLECTIONS = os.path.join(REPO, '.cache', 'collections')
# The Python of a local target (the machine's own, as a user's host has it).
TARGET_PYTHON = '/usr/bin/python3'

# ansible.posix.json: one JSON document of every task's result per host, for tests to read.
JSON_CALLBACK = {'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json', 'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json'}
# Warnings that say nothing about the collection (implicit localhost, a host list as inventory,
# deprecations in ansible-core itself) and retry files.
QUIET = {'ANSIBLE_LOCALHOST_WARNING': 'false', 'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
         'ANSIBLE_DEPRECATION_WARNINGS': 'false', 'ANSIBLE_RETRY_FILES_ENABLED': 'false'}


def tool(name='ansible-playbook'):
    """The path of one of the controller's programs (ansible-playbook, ansible, ansible-doc...)."""
    return os.path.join(VENV_BIN, name)


def playbook_argv(playbook, inventories=(), extra_vars=None, check=False, diff=False, args=(), local=False,
                  python=None):
    """ansible-playbook [-i INVENTORY]... [-c local] [-e interpreter] [-e JSON] [--check] [--diff] ARGS... PLAYBOOK

    ``local``: the local connection; ``python``: ansible_python_interpreter (TARGET_PYTHON for a local
    target); ``extra_vars``: a dict, passed as one JSON -e.
    """
    argv = [tool('ansible-playbook')]
    for inventory in inventories:
        argv += ['-i', inventory]
    if local:
        argv += ['-c', 'local']
    if python:
        argv += ['-e', 'ansible_python_interpreter=%s' % python]
    if extra_vars:
        argv += ['-e', json.dumps(extra_vars)]
    if check:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    return argv + list(args) + [playbook]


def ansible_env(home=None, callback=None, config=None, color=False, quiet=True, extra=None, base=None, clean=False):
    """The environment of an Ansible run: this collection on ANSIBLE_COLLECTIONS_PATH, and

    ``home``: a private ANSIBLE_HOME (nothing read from or written to ~/.ansible);
    ``callback``: 'json' (JSON_CALLBACK) or a stdout callback's name; ``config``: ANSIBLE_CONFIG;
    ``color``: ANSI colours forced on, or off; ``quiet``: the QUIET settings; ``extra``: more variables.
    Without ``base``, only these variables (to lay over the caller's environment); with it, a copy of
    ``base`` (e.g. os.environ) with them, and with ``clean`` without any other ANSIBLE_* of ``base``.
    """
    env = {}
    if base is not None:
        env = dict((key, value) for key, value in base.items() if not (clean and key.startswith('ANSIBLE_')))
    env['ANSIBLE_COLLECTIONS_PATH'] = COLLECTIONS
    env.update({'ANSIBLE_NOCOLOR': '0', 'ANSIBLE_FORCE_COLOR': '1'} if color else
               {'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0'})
    if home:
        env['ANSIBLE_HOME'] = home
    if callback == 'json':
        env.update(JSON_CALLBACK)
    elif callback:
        env['ANSIBLE_STDOUT_CALLBACK'] = callback
    if config:
        env['ANSIBLE_CONFIG'] = config
    if quiet:
        env.update(QUIET)
    env.update(extra or {})
    return env
