# Two commands for a newcomer: `make demo` and `make test`. Each does its own set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)

.PHONY: setup system-deps services lint test test-fast demo bench screenshots clean

setup: system-deps $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

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
