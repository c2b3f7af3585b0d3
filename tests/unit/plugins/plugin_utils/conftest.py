# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portguard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shipped report schema (docs/report.schema.json), for the tests that build reports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import jsonschema
import pytest

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'docs', 'report.schema.json')


@pytest.fixture(scope='session')
def report_schema():
    with open(SCHEMA_PATH) as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@pytest.fixture
def valid(report_schema):
    """valid(report) -> the report, once its JSON text passes the schema (raises otherwise)."""
    validator = jsonschema.Draft202012Validator(report_schema)

    def check(data):
        errors = sorted(validator.iter_errors(json.loads(json.dumps(data))), key=lambda error: list(error.path))
        assert not errors, '\n'.join('%s: %s' % (error.json_path, error.message) for error in errors)
        return data
    return check
