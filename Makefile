# portguard.ephemeral — developer and CI entry points.
#
#   make test          everything CI runs (installs what it needs first)
#   make help          list the targets
#
# On a fresh Debian machine, as root, `make test` installs the Debian packages
# (deps), builds the tool venv (venv) and the per-ansible-core venvs, lays out
# the collection (collection) and then runs every gate in TEST_STEPS, one
# after another, even when an earlier gate failed, and prints a summary.
# Setup steps are idempotent and cheap when nothing changed (stamp files under
# .cache/stamps keyed on the requirements files' hashes).
#
# ---- Adding a gate -----------------------------------------------------------
#  1. Write a target below.  Let it depend on the setup targets it needs:
#     deps, venv, collection.  The venv's bin/ is first on PATH and
#     ANSIBLE_COLLECTIONS_PATH already resolves portguard.ephemeral to this
#     work tree, for every recipe.
#  2. Append it to TEST_STEPS:     TEST_STEPS += molecule
#  3. It must exit non-zero on failure.  Its output is shown live and kept in
#     .cache/logs/<target>.log; the summary repeats the lines that look like a
#     test runner's result ("==== N passed ... ===="; pg_result_lines in
#     scripts/lib.sh, which also runs the steps), so print one.
# -----------------------------------------------------------------------------

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PYTHON ?= python3
VENV := $(ROOT)/.venv
VENV_BIN := $(VENV)/bin
CACHE := $(ROOT)/.cache
LOG_DIR := $(CACHE)/logs
BUILD_TREE := $(ROOT)/.build/ansible_collections/portguard/ephemeral
REQUIREMENTS := $(ROOT)/requirements.txt
CORE_REQUIREMENTS := $(ROOT)/requirements-ansible-test.txt

# ansible-core minor releases for ansible-test (sanity + units), read from the
# pins in requirements-ansible-test.txt.  Narrow it for a quick local run:
#   make sanity CORE_VERSIONS=2.19
# 2.20 and later run on Python 3.13 in the Debian 13 root (scripts/trixie-root.sh).
CORE_VERSIONS ?= $(shell sed -n 's/^ansible-core==\([0-9]*\.[0-9]*\)\..*/\1/p' $(CORE_REQUIREMENTS))

# The controller for integration, lint, demo and molecule: "host" (the tool
# venv .venv on the machine's Python, ansible-core from requirements.txt), or
# a version with a requirements-controller-<version>.txt, run through
# scripts/controller.sh (Python 3.13 in the Debian 13 root, venv
# .cache/controller-<version>):   make integration CONTROLLER=2.21
CONTROLLER ?= host
ifeq ($(CONTROLLER),host)
IN_CONTROLLER :=
CONTROLLER_BIN := $(VENV_BIN)/
CONTROLLER_SETUP := venv
else
IN_CONTROLLER := $(ROOT)/scripts/controller.sh $(CONTROLLER)
CONTROLLER_BIN :=
CONTROLLER_SETUP :=
endif
# Newer controller `make test` runs the role's integration tests, lint and molecule on.
NEW_CONTROLLER := 2.21
# The integration tests that drive ansible-playbook (the role and both modules).
INTEGRATION_TESTS ?= tests/integration

# Setup that must succeed before any gate runs (make test stops if it fails).
TEST_SETUP := deps venv collection
# Gates `make test` runs, in this order.  Append yours: TEST_STEPS += name
TEST_STEPS := units integration lint ansible-test

export PATH := $(VENV_BIN):$(PATH)
# portguard.ephemeral resolves to this work tree through the symlink
# .cache/collections/ansible_collections/portguard/ephemeral (made by
# `make collection`); the usual default locations follow.
export ANSIBLE_COLLECTIONS_PATH := $(CACHE)/collections:$(HOME)/.ansible/collections:/usr/share/ansible/collections
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# pytest sees `ansible_collections.portguard.ephemeral...` through the same
# symlink.  Only for the pytest gates: ansible-test sets its own paths.
PYTEST_ENV := PYTHONPATH=$(CACHE)/collections$(if $(PYTHONPATH),:$(PYTHONPATH))
PYTEST_ARGS ?=

.PHONY: help test setup deps venv collection units integration lint \
        ansible-test sanity ansible-units clean distclean \
        release-check molecule images demo bench trixie-root controller \
        integration-$(NEW_CONTROLLER) lint-$(NEW_CONTROLLER) molecule-$(NEW_CONTROLLER)

help:
	@echo "make test             deps + venv + collection, then every gate: $(TEST_STEPS)"
	@echo "make deps             Debian packages (scripts/install-debian-deps.sh)"
	@echo "make venv             .venv from requirements.txt (rebuilt when it changes)"
	@echo "make collection       .build/ansible_collections/portguard/ephemeral + ANSIBLE_COLLECTIONS_PATH symlink"
	@echo "make units            pytest tests/unit"
	@echo "make integration      pytest tests/integration (root; private namespaces)"
	@echo "make lint             ansible-lint --profile production"
	@echo "make ansible-test     ansible-test sanity + units for each ansible-core in: $(CORE_VERSIONS)"
	@echo "make sanity           ansible-test sanity only, each version   (sanity-<X.Y> for one)"
	@echo "make ansible-units    ansible-test units only, each version    (ansible-units-<X.Y> for one)"
	@echo "make ansible-test-<X.Y>  sanity + units for one ansible-core version"
	@echo "make trixie-root      the Debian 13 chroot with Python 3.13 (.cache/trixie-root)"
	@echo "make controller CONTROLLER=$(NEW_CONTROLLER)  its controller venv (.cache/controller-$(NEW_CONTROLLER))"
	@echo "make integration|lint|demo|molecule CONTROLLER=$(NEW_CONTROLLER)  the same gate on that controller"
	@echo "make integration-$(NEW_CONTROLLER) lint-$(NEW_CONTROLLER) molecule-$(NEW_CONTROLLER)  the gates make test runs on it"
	@echo "make release-check    build + install the tarball, ansible-doc, netns run, galaxy-importer, changelog lint"
	@echo "make images           build the Debian test images the scenarios name (MOLECULE_DISTRO=bookworm|trixie|all)"
	@echo "make molecule         molecule scenarios (SCENARIO=name|all, MOLECULE_DISTRO=bookworm|trixie|all)"
	@echo "make demo             reproduce 'Address already in use', fix it with the role, clean up"
	@echo "make bench            benchmark, parts podman, ssh, scale (BENCH_PARTS=...; info alone: BENCH_PARTS=info; see scripts/bench.sh): bench/results.json, docs/benchmarks.md"
	@echo "make clean            remove .build, logs and test output (keeps venvs)"
	@echo "make distclean        also remove .venv and .cache"
	@echo "variables: CORE_VERSIONS='$(CORE_VERSIONS)' CONTROLLER=$(CONTROLLER) PYTEST_ARGS='$(PYTEST_ARGS)' PYTHON=$(PYTHON)"

# ---- setup ----------------------------------------------------------------

setup: $(TEST_SETUP)

deps:
	@$(ROOT)/scripts/install-debian-deps.sh

venv:
	@PYTHON=$(PYTHON) $(ROOT)/scripts/setup-venv.sh $(VENV) $(REQUIREMENTS)

collection:
	@$(ROOT)/scripts/collection-tree.sh >/dev/null
	@echo "collection: $(BUILD_TREE)"

trixie-root: deps
	$(ROOT)/scripts/trixie-root.sh build

controller: deps $(CONTROLLER_SETUP) collection
	$(IN_CONTROLLER) $(CONTROLLER_BIN)ansible --version

# ---- gates ----------------------------------------------------------------

units: venv collection
	cd $(ROOT) && $(PYTEST_ENV) $(VENV_BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: deps $(CONTROLLER_SETUP) collection
	cd $(ROOT) && $(IN_CONTROLLER) env $(PYTEST_ENV) $(CONTROLLER_BIN)python -m pytest $(INTEGRATION_TESTS) $(PYTEST_ARGS)

lint: deps $(CONTROLLER_SETUP) collection
	cd $(ROOT) && $(IN_CONTROLLER) $(CONTROLLER_BIN)ansible-lint --version
	cd $(ROOT) && $(IN_CONTROLLER) $(CONTROLLER_BIN)ansible-lint --profile production --nocolor

# ansible-test: one venv per ansible-core version under .cache/core-X.Y, run in
# that version's own copy of the collection, .build/core-X.Y/ansible_collections/
# portguard/ephemeral (scripts/ansible-test.sh keeps both up to date).
# Versions run one after another; all of them run even when one fails, and
# the target fails if any did.
define run-per-version
	@. $(ROOT)/scripts/lib.sh; pg_steps_begin ''; \
	for v in $(CORE_VERSIONS); do pg_step $$v $(MAKE) $(1)-$$v; done; \
	exit $$PG_STATUS
endef

ansible-test: deps
	$(call run-per-version,ansible-test)
sanity: deps
	$(call run-per-version,sanity)
ansible-units: deps
	$(call run-per-version,ansible-units)

ansible-test-%: deps
	PYTHON=$(PYTHON) $(ROOT)/scripts/ansible-test.sh $* all
sanity-%: deps
	PYTHON=$(PYTHON) $(ROOT)/scripts/ansible-test.sh $* sanity
ansible-units-%: deps
	PYTHON=$(PYTHON) $(ROOT)/scripts/ansible-test.sh $* units

# ---- test: setup, then every gate, then a summary ---------------------------

test: $(TEST_SETUP)
	@. $(ROOT)/scripts/lib.sh; \
	pg_steps_begin '%-14s %-11s %5ss%s' $(LOG_DIR) pg_note_result_lines; \
	for step in $(TEST_STEPS); do \
	    echo; echo "======== make $$step ========"; \
	    pg_step $$step $(MAKE) $$step; \
	done; \
	echo; echo "======== make test summary ($$(pg_steps_seconds)s; logs in $(LOG_DIR)) ========"; \
	pg_steps_rows; \
	echo "gates: $$PG_PASSED passed, $$PG_FAILED failed"; \
	[ $$PG_FAILED -eq 0 ]

# ---- release, containers, demo, benchmarks ----------------------------------

# Build the tarball, install it in a clean path, ansible-doc everything, run
# both modules from the installed copy in a throw-away netns, galaxy-importer.
release-check: deps venv
	bash $(ROOT)/scripts/release-check.sh

# Debian test images the molecule scenarios name (debootstrap + podman import; reused when present).
images: deps
	$(ROOT)/scripts/molecule.sh all --distro $(MOLECULE_DISTRO) --build-only

# One scenario: make molecule SCENARIO=fleet [MOLECULE_DISTRO=trixie]
SCENARIO ?= all
MOLECULE_DISTRO ?= all
molecule: deps $(CONTROLLER_SETUP) collection
ifeq ($(CONTROLLER),host)
	$(ROOT)/scripts/molecule.sh $(SCENARIO) --distro $(MOLECULE_DISTRO)
else
	$(ROOT)/scripts/molecule.sh $(SCENARIO) --distro $(MOLECULE_DISTRO) --build-only
	$(IN_CONTROLLER) scripts/molecule.sh $(SCENARIO) --distro $(MOLECULE_DISTRO) --no-build
endif

# The README's first command: reproduce the failure in a throw-away namespace,
# fix it with the role from examples/, clean up.
demo: $(CONTROLLER_SETUP) collection
	@$(ROOT)/scripts/install-debian-deps.sh --only iproute2 procps util-linux
	$(IN_CONTROLLER) $(ROOT)/scripts/demo.sh

# Benchmark (scripts/bench.sh: podman and SSH fleet runs on local containers, controller
# scale at thousands of synthetic hosts; BENCH_* variables select parts and sizes);
# writes bench/results.json and docs/benchmarks.md.
bench: deps venv collection
	$(ROOT)/scripts/bench.sh

TEST_STEPS += release-check demo molecule

# The newest ansible-core as controller (Python 3.13, Debian 13 root): the
# integration tests that drive ansible-playbook, ansible-lint's production
# profile on the newest ansible-lint, molecule's default scenario on both releases.
integration-$(NEW_CONTROLLER):
	$(MAKE) integration CONTROLLER=$(NEW_CONTROLLER) \
	    INTEGRATION_TESTS="tests/integration/test_role.py tests/integration/test_local_ports.py tests/integration/test_local_ports_info.py"
lint-$(NEW_CONTROLLER):
	$(MAKE) lint CONTROLLER=$(NEW_CONTROLLER)
molecule-$(NEW_CONTROLLER):
	$(MAKE) molecule CONTROLLER=$(NEW_CONTROLLER) SCENARIO=default MOLECULE_DISTRO=all

TEST_STEPS += integration-$(NEW_CONTROLLER) lint-$(NEW_CONTROLLER) molecule-$(NEW_CONTROLLER)

# ---- housekeeping -----------------------------------------------------------

clean:
	rm -rf $(ROOT)/.build $(LOG_DIR) $(ROOT)/tests/output $(ROOT)/.pytest_cache

distclean: clean
	rm -rf $(VENV) $(CACHE)
