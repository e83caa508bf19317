# cloudsec.image_scan: developer entry points.
#
#   make demo   scan the demo inventory's images against the bundled emulator
#   make test   every test: sanity, unit, conformance, integration, lint (what CI runs)
#
# Both create .venv with python3 and install the pinned tools on first use.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# ansible-test and ansible-playbook need the collection at .../ansible_collections/cloudsec/image_scan
# as a real directory: `make tree` copies the working tree there.
COLLECTIONS := $(CURDIR)/build/collections
TREE := $(COLLECTIONS)/ansible_collections/cloudsec/image_scan
PIP_VERSION = $(shell $(BIN)/python -c "import re,ansible_test,os;p=os.path.join(os.path.dirname(ansible_test.__file__),'_internal','python_requirements.py');print(re.search(r\"pip='([0-9.]+)'\",open(p).read()).group(1))")
GET_PIP_CACHE = $(HOME)/.ansible/test/cache/get_pip_$(subst .,_,$(PIP_VERSION)).py
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONPATH := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

TEST_STEPS := sanity units conformance integration lint ee

.PHONY: help venv tree browser sanity units conformance integration lint ee test demo bench docs changelog clean

help:
	@echo "make demo    run the scan job against the bundled emulator"
	@echo "make test    all tests ($(TEST_STEPS))"
	@echo "make sanity | units | conformance | integration | lint | ee | bench"

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

$(GET_PIP_CACHE): tools/get_pip.py | venv
	@mkdir -p $(dir $@) && cp tools/get_pip.py $@

sanity: tree $(GET_PIP_CACHE)
	@echo "== sanity: ansible-test sanity"
	cd $(TREE) && $(BIN)/ansible-test sanity --python 3.11 --color no

units: tree
	@echo "== units: pytest tests/unit"
	cd $(TREE) && $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

conformance: tree
	@echo "== conformance: the official SDKs against the emulator"
	cd $(TREE) && $(BIN)/python -m pytest -q -p no:cacheprovider tests/conformance

# The role's HTML report is checked in headless chromium: install Debian's package when it is missing.
browser:
	@command -v chromium >/dev/null || { echo "== browser: installing chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  { echo "browser: could not install chromium (apt-get install chromium, as root), which the integration tests need"; exit 1; }
	@command -v chromium >/dev/null || { echo "browser: chromium is still not on PATH"; exit 1; }

integration: tree browser
	@echo "== integration: ansible-test integration (real ansible-playbook against the emulator)"
	@targets=$$(find tests/integration/targets -mindepth 1 -maxdepth 1 -type d ! -name 'setup_*' 2>/dev/null | wc -l); \
	if [ "$$targets" -eq 0 ]; then echo "integration: 0 targets"; else \
	  cd $(TREE) && PATH=$(BIN):$$PATH $(BIN)/ansible-test integration --python 3.11 --local --color no $(TARGETS); fi

lint: venv
	@echo "== lint: ansible-lint --profile production"
	$(BIN)/ansible-lint --profile production

ee: tree
	@echo "== ee: ansible-builder introspect (execution environment dependencies)"
	@$(BIN)/ansible-builder introspect $(COLLECTIONS) | tee build/ee-introspect.txt
	@grep -q "requests>=.*cloudsec.image_scan" build/ee-introspect.txt || { echo "requests missing from the EE dependencies"; exit 1; }

changelog: venv
	$(BIN)/antsibull-changelog lint

# Every step in order; stops at the first failure and ends with a plain "N passed, N failed" line.
test: venv
	@passed=0; failed=0; for step in $(TEST_STEPS); do \
	  if $(MAKE) --no-print-directory $$step; then passed=$$((passed+1)); \
	  else failed=$$((failed+1)); echo "== step '$$step' failed"; break; fi; \
	done; \
	echo "steps: $$passed passed, $$failed failed"; test $$failed -eq 0

demo: tree
	@bash tools/demo.sh

# Measurements, never part of `make test`: the role against plain SDK scripts and one module run
# against ansible.builtin.uri, on the emulator; writes benchmarks/results.md (about 15 minutes).
bench: tree
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf build .ansible tests/output
