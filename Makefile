# Two commands for a newcomer: `make demo` and `make test`. Each does its own set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements-dev.lock | sha256sum | cut -c1-12)
LOCK   := $(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --custom-compile-command "make lock"

.PHONY: setup system-deps services lint test test-fast demo bench screenshots lock lock-upgrade clean

setup: system-deps $(STAMP)

# Exactly the pinned, hashed versions of requirements-dev.lock, then Vigil itself without resolving anything.
# Editable in compat mode (the checkout on sys.path): pySigma finds plugins by listing the sigma.pipelines
# namespace, which setuptools' default editable finder imports but never lists (sigma-cli missed vigil_ecs).
$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps -e . --config-settings editable_mode=compat
	@rm -f $(VENV)/.installed-* && touch $@

# After adding or changing a dependency in pyproject.toml (and pip-installing it): re-pin both lock files. Versions
# already installed in the venv are kept when they satisfy the ranges, so the locks name what the tests ran with;
# `make lock-upgrade` moves every pin to the newest version the ranges allow.
lock:
	$(BIN)/pip freeze --exclude-editable | grep -v ' @ ' > $(VENV)/installed-constraints.txt
	$(LOCK) -c $(VENV)/installed-constraints.txt -o requirements.lock
	$(LOCK) --all-extras -c requirements.lock -c $(VENV)/installed-constraints.txt -o requirements-dev.lock

lock-upgrade:
	$(LOCK) --upgrade -o requirements.lock
	$(LOCK) --all-extras -c requirements.lock -o requirements-dev.lock

system-deps:
	@bash deploy/scripts/system-deps.sh

services: setup
	$(BIN)/vigil services up

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: services lint
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not integration"

demo: services
	$(BIN)/vigil demo

bench: services
	$(BIN)/vigil bench all

# Tests write screenshots to a temporary folder; this refreshes the committed ones in docs/screenshots/.
screenshots: services
	VIGIL_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/console/test_browser.py

clean:
	-$(BIN)/vigil services down
	rm -rf .vigil
