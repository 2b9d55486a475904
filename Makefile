# Portail Familles: `make run` serves the demo, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format lock messages check-python check-system clean screenshots demo-reset

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null || { \
	  echo "Portail Familles needs Python 3.12 or newer, but '$(PYTHON)' is: $$($(PYTHON) --version 2>&1 || echo 'not found')."; \
	  echo "Install Python 3.12+ and run again, or name it: make run PYTHON=python3.12"; \
	  exit 1; }

$(STAMP): requirements/dev.txt | check-python
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then \
	  echo "Removing $(VENV): it was made with $$($(BIN)/python --version)."; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet --require-hashes -r requirements/dev.txt
	@touch $(STAMP)

install: check-python $(STAMP)

# What make run's commands share: development mode, and the portal's address
# (printed on PDFs, letters and e-mails) from HOST and PORT.
URL := http://$(HOST):$(PORT)
DEMO_ENV := DJANGO_DEBUG=1 PORTAIL_PUBLIC_URL=$(URL) PORTAIL_TASKS_BACKEND=database

# The provider's local stand-in: Stripe's, or PayFiP's with
# `PORTAIL_PAYMENT_PROVIDER=payfip make run`; STANDIN_ARGS are its options
# (PayFiP's fault switches: --lose-notifications, --duplicate-notifications).
STANDIN := $(if $(filter payfip,$(PORTAIL_PAYMENT_PROVIDER)),payfip,stripe)

run: install check-system
	@echo "Preparing the demo database (var/portail.sqlite3)…"
	@$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput -v0
	@$(DEMO_ENV) $(BIN)/python manage.py createcachetable -v0
	@$(DEMO_ENV) DJANGO_LOG_LEVEL=WARNING $(BIN)/python manage.py seed_demo -v0
	@# Beside the portal: the task worker (e-mails leave in the background,
	@# as in production) and the payment provider's local stand-in; both
	@# stop with it. Their lines go to var/log/, so that the logins are
	@# printed last.
	@mkdir -p var/log
	@export $(DEMO_ENV) STRIPE_STANDIN_WEBHOOK_URL=$(URL)/paiements/webhook/stripe/; \
	$(BIN)/python manage.py db_worker --no-reload --queue-name '*' >var/log/worker.log 2>&1 & worker=$$!; \
	$(BIN)/python manage.py $(STANDIN)_standin $(STANDIN_ARGS) >var/log/$(STANDIN)-standin.log 2>&1 & standin=$$!; \
	trap 'kill $$worker $$standin 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py seed_demo --logins-only && \
	echo "  Online payments: $(STANDIN)'s local stand-in. The worker's and the stand-in's lines: var/log/. Ctrl+C stops all." && \
	echo && \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Load the demo again for today (it tells the same story on any day, but a
# database loaded in an earlier month keeps that month's story).
demo-reset:
	rm -rf var/portail.sqlite3 var/mail var/private var/log

# WeasyPrint (the PDFs) needs Pango, HarfBuzz's subsetter and a font from the
# system: say what is missing rather than let it warn at every PDF.
check-system:
	@ldconfig=$$(command -v ldconfig || echo /sbin/ldconfig); \
	[ -x "$$ldconfig" ] || exit 0; missing=""; \
	for lib in libpango-1.0.so libpangoft2-1.0.so libharfbuzz-subset.so; do \
	  "$$ldconfig" -p | grep -q "$$lib" || missing="$$missing $$lib"; done; \
	if [ -n "$$missing" ]; then \
	  echo "The PDFs need system libraries that are missing:$$missing."; \
	  echo "On Debian or Ubuntu: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"; \
	fi

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# The browser journeys (Debian's Chromium) rewrite docs/screenshots/.
screenshots: install
	$(BIN)/pytest tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DJANGO_DEBUG=1 $(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate the locked dependency lists from pyproject.toml.
lock: install
	$(BIN)/pip install --quiet pip-tools==7.6.2
	$(BIN)/pip-compile --quiet --no-strip-extras --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements/main.txt pyproject.toml
	$(BIN)/pip-compile --quiet --no-strip-extras --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links --extra dev -o requirements/dev.txt pyproject.toml

# Update and compile the French catalogue (needs GNU gettext).
messages: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemessages --locale fr --ignore '.venv/*' --ignore 'var/*'
	DJANGO_DEBUG=1 $(BIN)/python manage.py compilemessages --locale fr --ignore '.venv/*'

clean:
	rm -rf $(VENV) var/staticfiles .pytest_cache .ruff_cache
