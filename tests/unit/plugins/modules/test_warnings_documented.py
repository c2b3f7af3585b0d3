# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The RETURN docs' ``warnings`` list every kind of warning the code emits, and no other.

Each kind of warning is documented as one item of ``warnings.description`` that starts with a phrase in
C(...) which the warning's text contains (``C(both ends are) - the range's ends ...``).  The warning texts
are found in plugins/module_utils by reading the code: every string literal that reaches a list named
``warnings`` (or an attribute ``.warnings``), directly, through a local list (``warnings.extend(problems)``)
or through a function of module_utils that returns one.  A new warning without a documented phrase, or a
documented phrase that no warning contains, fails here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import glob
import os
import re

import pytest
import yaml

PLUGINS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins')
MODULES = ('local_ports', 'local_ports_info')
PHRASE = re.compile(r'^C\(([^)]+)\) - ')


def documented_phrases(module):
    """The phrases of the module's RETURN ``warnings`` items (the first item is the general sentence)."""
    with open(os.path.join(PLUGINS, 'modules', module + '.py')) as handle:
        tree = ast.parse(handle.read())
    text = [node.value.value for node in tree.body if isinstance(node, ast.Assign)
            and getattr(node.targets[0], 'id', None) == 'RETURN'][0]
    items = yaml.safe_load(text)['warnings']['description']
    phrases = [PHRASE.match(item).group(1) for item in items[1:]]
    assert len(phrases) == len(set(phrases)) == len(items) - 1, items
    return phrases


def _is_warnings(node):
    return getattr(node, 'id', None) == 'warnings' or getattr(node, 'attr', None) == 'warnings'


class Source(object):
    """The functions of plugins/module_utils and the literal texts that flow into warnings."""

    def __init__(self):
        self.functions = {}
        for path in glob.glob(os.path.join(PLUGINS, 'module_utils', '*.py')):
            with open(path) as handle:
                for node in ast.walk(ast.parse(handle.read())):
                    if isinstance(node, ast.FunctionDef):
                        self.functions.setdefault(node.name, []).append(node)

    @staticmethod
    def _fed(function, target):
        """(kind, expression) put into ``target`` (a predicate on the receiver) in ``function``: one item or many."""
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and target(node.func.value) \
                    and node.func.attr in ('append', 'extend', 'insert'):
                yield ('many' if node.func.attr == 'extend' else 'one'), node.args[-1]
            elif isinstance(node, ast.Assign) and any(target(item) for item in node.targets):
                yield 'many', node.value
            elif isinstance(node, ast.AugAssign) and target(node.target):
                yield 'many', node.value

    def scalar(self, node, function):
        """One message's text: its format string with the literal texts it is formatted with."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.BinOp):
            return ' '.join(filter(None, (self.scalar(node.left, function), self.scalar(node.right, function))))
        if isinstance(node, ast.Tuple):
            return ' '.join(filter(None, (self.scalar(item, function) for item in node.elts)))
        if isinstance(node, ast.Call) and getattr(node.func, 'attr', None) == 'format':
            return self.scalar(node.func.value, function)
        if isinstance(node, ast.Name):
            return ' '.join(filter(None, (self.scalar(value, function) for _kind, value in
                                          self._fed(function, lambda target: getattr(target, 'id', None) == node.id))))
        return ''

    def texts(self, kind, node, function, seen):
        """The messages an expression puts into a list: one (``kind`` 'one') or a list of them."""
        if kind == 'one':
            return [self.scalar(node, function)]
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.scalar(item, function) for item in node.elts]
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return [self.scalar(node.elt, function)]
        if isinstance(node, ast.Name) and not _is_warnings(node):
            return [text for fed_kind, value in self._fed(function, lambda target: getattr(target, 'id', None) == node.id)
                    for text in self.texts(fed_kind, value, function, seen)]
        if isinstance(node, ast.Call):
            callee = getattr(node.func, 'attr', None) or getattr(node.func, 'id', None)
            if callee in ('list', 'tuple', 'sorted') and node.args:
                return self.texts('many', node.args[0], function, seen)
            return self.returned(callee, seen)
        return []

    def returned(self, name, seen):
        """The messages in the lists a module_utils function returns."""
        if name in seen or name not in self.functions:
            return []
        seen = seen | set([name])
        texts = []
        for function in self.functions[name]:
            for node in ast.walk(function):
                if isinstance(node, ast.Return) and node.value is not None:
                    texts.extend(self.texts('many', node.value, function, seen))
        return texts

    def warning_texts(self):
        texts = set()
        for functions in self.functions.values():
            for function in functions:
                for kind, value in self._fed(function, _is_warnings):
                    texts.update(self.texts(kind, value, function, frozenset()))
        return sorted(text for text in texts if text.strip())


@pytest.fixture(scope='module')
def warning_texts():
    return Source().warning_texts()


@pytest.mark.parametrize('module', MODULES)
def test_every_documented_warning_is_emitted(module, warning_texts):
    for phrase in documented_phrases(module):
        assert any(phrase in text for text in warning_texts), '%s documents %r, which no warning says' % (module, phrase)


def test_every_warning_is_documented(warning_texts):
    phrases = set(phrase for module in MODULES for phrase in documented_phrases(module))
    missing = [text for text in warning_texts if not any(phrase in text for phrase in phrases)]
    assert missing == [], 'warnings without a documented phrase in any RETURN warnings: %s' % missing


def test_the_reader_finds_the_forwarded_warnings(warning_texts):
    """A warning that travels through a local list and a helper function is found too (override problems)."""
    assert any('would not be set at boot by' in text for text in warning_texts)
    assert any('both ends are' in text for text in warning_texts)
