# feedsvc: `make run` serves content/ on http://127.0.0.1:8000; `make test` runs the whole suite (what CI runs);
# `make check` is the fast loop: lint and the tests that need no browser, no nginx and no slow run.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint system-deps clean catalogs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pybabel compile -d feedsvc/translations 2>/dev/null
	touch $(STAMP)

# Message catalogs (Babel): the .po files are the source, compiled to .mo on install and
# whenever one changes. `make catalogs` re-extracts the strings and merges them into each .po.
CATALOGS := $(wildcard feedsvc/translations/*/LC_MESSAGES/messages.po)
MO := $(CATALOGS:.po=.mo)
%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@ 2>/dev/null

catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --omit-header -o feedsvc/translations/messages.pot .
	$(BIN)/pybabel update -i feedsvc/translations/messages.pot -d feedsvc/translations --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date --width 100

# System tools some tests drive, from Debian's packages (no browser downloads):
# Chromium + ChromeDriver (widget browser tests), nginx (serving a static export),
# redis-server (tests start their own Redis on a free port).
SYSTEM_TOOLS := chromium:chromium chromedriver:chromium-driver nginx:nginx-light redis-server:redis-server
system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || [ -x /usr/sbin/$$cmd ] || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || echo "warning: could not install$$missing; tests needing them will skip (and fail under CI)" >&2; \
	  else echo "warning: not root, cannot install$$missing; tests needing them will skip" >&2; fi; fi

run: $(STAMP) $(MO)
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: $(STAMP) $(MO) system-deps lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The markers are registered in pyproject.toml; tests/<area>/ modules set them (pytestmark or per test).
check: $(STAMP) $(MO) lint
	$(BIN)/python -m pytest -q -m "not browser and not nginx and not slow" $(PYTEST_ARGS)

# ruff (lint and format check) and mypy, pinned in requirements-dev.txt, configured in pyproject.toml;
# `make test` and `make check` run them first.
lint: $(STAMP)
	$(BIN)/python -m ruff check feedsvc tests bench gunicorn.conf.py wsgi.py
	$(BIN)/python -m ruff format --check feedsvc tests bench gunicorn.conf.py wsgi.py
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis $(MO)
