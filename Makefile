# Portail Familles: `make run` serves the demo, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format lock messages check-python clean screenshots

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null || { \
	  echo "Portail Familles needs Python 3.12 or newer, but '$(PYTHON)' is: $$($(PYTHON) --version 2>&1 || echo 'not found')."; \
	  echo "Install Python 3.12+ and run again, or name it: make run PYTHON=python3.12"; \
	  exit 1; }

$(STAMP): requirements/dev.txt | check-python
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then \
	  echo "Removing $(VENV): it was made with $$($(BIN)/python --version)."; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	@touch $(STAMP)

install: check-python $(STAMP)

run: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py createcachetable
	DJANGO_DEBUG=1 PORTAIL_TASKS_BACKEND=database $(BIN)/python manage.py seed_demo
	@# Beside the portal: the task worker (e-mails leave in the background,
	@# as in production) and the local Stripe stand-in; both stop with it.
	@export DJANGO_DEBUG=1 PORTAIL_TASKS_BACKEND=database \
	  STRIPE_STANDIN_WEBHOOK_URL=http://$(HOST):$(PORT)/paiements/webhook/stripe/; \
	$(BIN)/python manage.py db_worker --no-reload & worker=$$!; \
	$(BIN)/python manage.py stripe_standin & standin=$$!; \
	trap 'kill $$worker $$standin 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# The browser journeys (Debian's Chromium) rewrite docs/screenshots/.
screenshots: install
	$(BIN)/pytest tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate the locked dependency lists from pyproject.toml.
lock: install
	$(BIN)/pip install --quiet pip-tools==7.6.2
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links --strip-extras -o requirements/main.txt pyproject.toml
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links --strip-extras --extra dev -o requirements/dev.txt pyproject.toml

# Update and compile the French catalogue (needs GNU gettext).
messages: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemessages --locale fr --ignore '.venv/*' --ignore 'var/*'
	DJANGO_DEBUG=1 $(BIN)/python manage.py compilemessages --locale fr --ignore '.venv/*'

clean:
	rm -rf $(VENV) var/staticfiles .pytest_cache .ruff_cache
