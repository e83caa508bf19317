# cloudsec.image_scan: developer entry points.
#
#   make demo           scan the demo inventory's images against the bundled emulator
#   make test           every test: sanity, unit, conformance, integration, a short soak, a short
#                       benchmark, docs lint, lint, ee
#   make bench          the benchmark (BENCH_ARGS): the role against plain SDK scripts, slices, floor
#   make soak           the long seeded soak of the scan modules under faults (SOAK_ARGS)
#   make matrix         unit tests, smoke integration targets and sanity at both ends of the
#                       supported ansible-core range (what CI runs after make test)
#   make docs           the HTML documentation site, in build/docs/html
#   make release-check  build the tarball and run galaxy-importer on it
#
# They create .venv with python3 and install the pinned tools on first use; matrix, docs and
# release-check keep their own virtual environments under build/.

SHELL := /bin/bash
comma := ,
space := $(subst ,, )
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# ansible-test and ansible-playbook need the collection at .../ansible_collections/cloudsec/image_scan
# as a real directory: `make tree` copies the working tree there.
COLLECTIONS := $(CURDIR)/build/collections
TREE := $(COLLECTIONS)/ansible_collections/cloudsec/image_scan
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONPATH := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1
# Ansible's own files (local temporary files, Galaxy cache) go under build/, not ~/.ansible.
export ANSIBLE_HOME := $(CURDIR)/build/ansible
export PIP_DISABLE_PIP_VERSION_CHECK := 1

TEST_STEPS := sanity units conformance integration soak-short bench-short docs-lint lint ee

.PHONY: help venv tree browser sanity units conformance integration soak soak-short docs-lint lint ee test matrix \
	demo bench bench-short docs tarball release-check changelog clean

help:
	@echo "make demo           run the scan job against the bundled emulator"
	@echo "make test           all tests ($(TEST_STEPS))"
	@echo "make matrix         the oldest and newest supported ansible-core: $(foreach c,$(MATRIX_CELLS),$(firstword $(subst :, ,$(c))))"
	@echo "make docs           HTML documentation in build/docs/html"
	@echo "make release-check  galaxy-importer on the built tarball"
	@echo "make soak           the long seeded soak under faults (SOAK_ARGS, default: $(SOAK_ARGS))"
	@echo "make sanity | units | conformance | integration | soak-short | bench-short | docs-lint | lint | ee | bench"

venv: $(STAMP)

$(STAMP): requirements.txt test-requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install --quiet -r requirements.txt -r test-requirements.txt 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0
	@touch $@

tree: venv
	@rm -rf $(TREE) && mkdir -p $(TREE)
	@tar --exclude=./$(VENV) --exclude=./build --exclude=./.ansible --exclude='*.tar.gz' \
	     --exclude=__pycache__ --exclude=./.pytest_cache --exclude=./.hypothesis -cf - . | tar -xf - -C $(TREE)

sanity: tree
	@echo "== sanity: ansible-test sanity"
	@$(BIN)/python tools/install_get_pip.py
	cd $(TREE) && $(BIN)/ansible-test sanity --python 3.11 --color no

units: tree
	@echo "== units: pytest tests/unit"
	cd $(TREE) && $(BIN)/python -m pytest -q -rs -p no:cacheprovider tests/unit

conformance: tree
	@echo "== conformance: the official SDKs against the emulator"
	cd $(TREE) && $(BIN)/python -m pytest -q -p no:cacheprovider tests/conformance

# The role's HTML report is checked in headless chromium: install Debian's package when it is missing.
browser:
	@command -v chromium >/dev/null || { echo "== browser: installing chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  { echo "browser: could not install chromium (apt-get install chromium, as root), which the integration tests need"; exit 1; }
	@command -v chromium >/dev/null || { echo "browser: chromium is still not on PATH"; exit 1; }

# Two passes: every target (or TARGETS) against the emulator as each target starts it, then
# REALISM_TARGETS (those of TARGETS, when given) again with every realism profile on
# (--realism all, a lag of REALISM_LAG_SECONDS): tests/integration/integration_config.yml tells
# setup_emulator (ansible-test passes no environment to the targets). PASSES=default or
# PASSES=realism runs one pass only.
REALISM_TARGETS := module_hss_image_scan module_hss_info module_hss_local_image_scan \
	module_tcss_image_scan module_tcss_image_scan_faults module_tcss_info role_image_scan
REALISM := all
REALISM_LAG_SECONDS := 2
PASSES := default realism
INTEGRATION_CONFIG := $(TREE)/tests/integration/integration_config.yml
ANSIBLE_TEST_INTEGRATION := PATH=$(BIN):$$PATH $(BIN)/ansible-test integration --python 3.11 --local --color no
realism_pass_targets = $(if $(TARGETS),$(filter $(REALISM_TARGETS),$(TARGETS)),$(REALISM_TARGETS))
# Without TARGETS, both passes run as these groups at the same time, each in its own copy of the
# tree (tools/integration.sh; the default-pass targets no group names form one more group): the
# targets mostly wait for emulated scans, so they overlap well on two cores.
INTEGRATION_GROUPS := default:role_image_scan,role_image_scan_merge \
	default:role_image_scan_realism,role_image_scan_slices \
	realism:$(subst $(space),$(comma),$(filter-out role_image_scan,$(REALISM_TARGETS))) \
	realism:role_image_scan

integration: tree browser
	@targets=$$(find tests/integration/targets -mindepth 1 -maxdepth 1 -type d ! -name 'setup_*' 2>/dev/null | wc -l); \
	if [ "$$targets" -eq 0 ]; then echo "integration: 0 targets"; exit 0; fi; \
	rm -f $(INTEGRATION_CONFIG); \
	if [ -z "$(TARGETS)" ] && [ "$(strip $(PASSES))" = "default realism" ]; then \
	  echo "== integration: ansible-test integration (real ansible-playbook against the emulator), both passes, in groups at once (tools/integration.sh)"; \
	  ANSIBLE_TEST="$(ANSIBLE_TEST_INTEGRATION)" REALISM="$(REALISM)" REALISM_LAG_SECONDS="$(REALISM_LAG_SECONDS)" \
	    bash tools/integration.sh $(TREE) $(INTEGRATION_GROUPS); exit $$?; fi; \
	if [ -n "$(filter default,$(PASSES))" ]; then \
	  echo "== integration: ansible-test integration (real ansible-playbook against the emulator)"; \
	  (cd $(TREE) && $(ANSIBLE_TEST_INTEGRATION) $(TARGETS)) || exit 1; fi; \
	if [ -n "$(filter realism,$(PASSES))" ] && [ -n "$(strip $(realism_pass_targets))" ]; then \
	  echo "== integration, realism pass: $(strip $(realism_pass_targets)) against --realism $(REALISM) --lag-seconds $(REALISM_LAG_SECONDS)"; \
	  printf 'emulator_realism: "%s"\nemulator_lag_seconds: %s\n' "$(REALISM)" "$(REALISM_LAG_SECONDS)" > $(INTEGRATION_CONFIG); \
	  (cd $(TREE) && $(ANSIBLE_TEST_INTEGRATION) $(realism_pass_targets)); rc=$$?; \
	  rm -f $(INTEGRATION_CONFIG); exit $$rc; fi

# The seeded soak (tests/soak/README.md): the scan modules as real processes against the emulator
# under --realism lag and injected faults, each run judged against the emulator's own record.
# soak-short (in make test) first checks that the judge catches a second scan (--broken), then
# runs a fixed set of seeds; make soak runs SOAK_ARGS (replay a seed: SOAK_ARGS="--seeds N").
SOAK_ARGS ?= --seeds 1-300 --jobs 3
SOAK_SHORT_SEEDS := 4,7,10,12,13,14,41
soak: tree
	@echo "== soak: tests/soak/soak.py $(SOAK_ARGS)"
	cd $(TREE) && $(BIN)/python tests/soak/soak.py $(SOAK_ARGS)

soak-short: tree
	@echo "== soak-short: tests/soak/soak.py --broken, then seeds $(SOAK_SHORT_SEEDS)"
	cd $(TREE) && $(BIN)/python tests/soak/soak.py --broken --seeds 1,29 --jobs 2 && \
	  $(BIN)/python tests/soak/soak.py --seeds $(SOAK_SHORT_SEEDS) --jobs 2

# The plugins' documentation as the Ansible docsite renders it: markup, links between plugins
# and options, RST (antsibull-docs calls ansible-doc, hence the PATH).
docs-lint: tree
	@echo "== docs-lint: antsibull-docs lint-collection-docs --plugin-docs"
	cd $(TREE) && PATH=$(BIN):$$PATH ANSIBLE_HOME=$(CURDIR)/build/docs-lint $(BIN)/antsibull-docs \
	  --config-file $(CURDIR)/tools/docsite/antsibull-docs.cfg lint-collection-docs --plugin-docs .

# ansible-lint with its collections path, Ansible home and cache under build/lint/, never ~/.ansible.
lint: venv
	@echo "== lint: ansible-lint --profile production"
	LINT_BIN=$(BIN) bash tools/lint.sh

ee: tree
	@echo "== ee: ansible-builder introspect (execution environment dependencies)"
	@$(BIN)/ansible-builder introspect $(COLLECTIONS) | tee build/ee-introspect.txt
	@grep -q "requests>=.*cloudsec.image_scan" build/ee-introspect.txt || { echo "requests missing from the EE dependencies"; exit 1; }

changelog: venv
	$(BIN)/antsibull-changelog lint

# A tool's own virtual environment under build/, from a requirements file: $(call tool_venv,DIR,REQUIREMENTS)
define tool_venv
	@test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(1)/bin/python -m pip install --quiet -r $(2) 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0
	@touch $(1)/.installed
endef

# The HTML documentation site (modules, action plugins, filters, the role) as antsibull-docs and
# Sphinx build it for the Ansible docsite, offline, into build/docs/html (tools/docsite/).
DOCS := $(CURDIR)/build/docs
DOCS_VENV := $(DOCS)/venv

$(DOCS_VENV)/.installed: tools/docsite/requirements.txt
	$(call tool_venv,$(DOCS_VENV),tools/docsite/requirements.txt)

docs: tree $(DOCS_VENV)/.installed
	@echo "== docs: antsibull-docs collection, sphinx-build"
	@rm -rf $(DOCS)/rst $(DOCS)/html && mkdir -p $(DOCS)/rst && chmod og-w $(DOCS)/rst
	PATH=$(DOCS_VENV)/bin:$$PATH ANSIBLE_HOME=$(DOCS)/ansible $(DOCS_VENV)/bin/antsibull-docs \
	  --config-file tools/docsite/antsibull-docs.cfg collection --use-current --dest-dir $(DOCS)/rst cloudsec.image_scan
	cp tools/docsite/index.rst $(DOCS)/rst/index.rst
	$(DOCS_VENV)/bin/sphinx-build -q -b html -c tools/docsite -W --keep-going $(DOCS)/rst $(DOCS)/html
	@echo "docs: open $(DOCS)/html/index.html"

# The tarball users install, built from the tree copy of the working tree (galaxy.yml: build_ignore).
DIST := $(CURDIR)/build/dist
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(DIST)/cloudsec-image_scan-$(VERSION).tar.gz

tarball: tree
	@rm -rf $(DIST) && mkdir -p $(DIST)
	ANSIBLE_HOME=$(DIST)/ansible $(BIN)/ansible-galaxy collection build --output-path $(DIST) $(TREE)

# galaxy-importer, the check Galaxy and Automation Hub run on upload, on the built tarball,
# offline (tools/galaxy-importer.cfg: no ansible-test), in its own virtual environment.
IMPORTER := $(CURDIR)/build/release-check
IMPORTER_VENV := $(IMPORTER)/venv

$(IMPORTER_VENV)/.installed: tools/galaxy-importer-requirements.txt
	$(call tool_venv,$(IMPORTER_VENV),tools/galaxy-importer-requirements.txt)

release-check: tarball $(IMPORTER_VENV)/.installed
	@echo "== release-check: galaxy-importer $(notdir $(TARBALL))"
	cd $(IMPORTER) && PATH=$(IMPORTER_VENV)/bin:$$PATH GALAXY_IMPORTER_CONFIG=$(CURDIR)/tools/galaxy-importer.cfg \
	  ANSIBLE_HOME=$(IMPORTER)/ansible GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP=$(IMPORTER)/ansible/tmp XDG_CACHE_HOME=$(IMPORTER)/cache \
	  $(IMPORTER_VENV)/bin/python -m galaxy_importer.main $(TARBALL) > $(IMPORTER)/importer.log 2>&1; \
	  rc=$$?; cat $(IMPORTER)/importer.log; \
	  if [ $$rc -ne 0 ]; then echo "release-check: galaxy-importer failed (exit $$rc)"; exit 1; fi
	@if grep -E "^(ERROR|WARNING)" $(IMPORTER)/importer.log; then echo "release-check: galaxy-importer reported the lines above"; exit 1; fi
	@echo "release-check: galaxy-importer accepted $(notdir $(TARBALL))"

# Every step in order; stops at the first failure and ends with a plain "N passed, N failed" line.
test: venv
	@passed=0; failed=0; for step in $(TEST_STEPS); do \
	  if $(MAKE) --no-print-directory $$step; then passed=$$((passed+1)); \
	  else failed=$$((failed+1)); echo "== step '$$step' failed"; break; fi; \
	done; \
	echo "steps: $$passed passed, $$failed failed"; test $$failed -eq 0

# The supported range (meta/runtime.yml: requires_ansible >= 2.16) at both ends, each on a Python
# this machine has; a cell is name:python:ansible-core:steps. Each cell has its own virtual
# environment and collection tree under build/matrix/<cell>/ (tools/matrix.sh).
MATRIX_CELLS := core2.16-py3.11:3.11:2.16.19:units+integration \
	core2.21-py3.13:3.13:2.21.5:units+integration+sanity
MATRIX_TARGETS := module_hss_image_scan module_tcss_image_scan role_image_scan
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
# Python X.Y: pythonX.Y or python3 on PATH if it runs and is X.Y (pyenv's shims fail unless a
# version is selected), else pyenv's own build called by its full path.
python_version = $(shell $(1) -c 'import sys, venv; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
find_python = $(firstword $(foreach p,$(shell command -v python$(1) python3 2>/dev/null) \
	$(sort $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python3)),$(if $(filter $(1),$(call python_version,$(p))),$(p))))
MATRIX_PYTHON_VERSIONS = $(sort $(foreach c,$(MATRIX_CELLS),$(word 2,$(subst :, ,$(c)))))

matrix: venv browser
	@echo "== matrix: ansible-core $(foreach c,$(MATRIX_CELLS),$(word 3,$(subst :, ,$(c))))"
	@MATRIX_PYTHONS="$(foreach v,$(MATRIX_PYTHON_VERSIONS),$(v)=$(call find_python,$(v)))" \
	 MATRIX_PYTHON_SEARCH='pythonX.Y and python3 on PATH, then $(PYENV_ROOT)/versions/X.Y.*/bin/python3' \
	 MATRIX_TARGETS="$(MATRIX_TARGETS)" bash tools/matrix.sh $(MATRIX_CELLS)

demo: tree
	@bash tools/demo.sh

# Measurements, never part of `make test`: the role against plain SDK scripts, the per-host floor,
# sliced jobs against one job and one module run against ansible.builtin.uri, on the emulator, at
# 200, 1,000, 5,000 and 10,000 hosts; writes benchmarks/results.md (about 3 hours on 2 idle
# CPUs, estimated; BENCH_ARGS="--sizes 200 --slice-sizes 200" for a run of a few minutes).
bench: tree
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Part of `make test`: every measurement of `make bench` once on 20 hosts, and a check that the
# harness's output is complete and consistent (no timing is asserted); writes build/bench-short/.
bench-short: tree
	@echo "== bench-short: benchmarks/run.py --short (20 hosts, every measurement once)"
	$(BIN)/python benchmarks/run.py --short $(BENCH_ARGS)

clean:
	rm -rf build .ansible tests/output
