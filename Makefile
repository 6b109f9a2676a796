# Two commands for a newcomer: `make run` (the whole system on embedded defaults) and
# `make test` (the whole suite). Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format install migrate demo serve worker beat bench clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo --host $(HOST) --port $(PORT)

# One ASGI process serves HTTP (admin, API) and WebSocket (chargers). Without
# CELERY_BROKER_URL, Celery tasks run in-process; without REDIS_URL, the channel layer is
# in memory; without DATABASE_URL, SQLite in WAL mode under var/.
serve: install
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

run: demo serve

test: install
	$(BIN)/pytest

# The load benchmark (issue 7): fleet, throughput and storm against our server and the
# baseline, a few minutes on 2 cores; options and the full targets in README "Performance".
bench: install
	$(BIN)/python -m bench all

# ruff (style), import-linter (DESIGN.md's dependency direction), mypy (types, of the packages
# listed in pyproject.toml; its cache in .mypy_cache keeps a rerun to a few seconds).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Production profile (docker-compose runs these): a worker and a beat beside the web process.
worker: install
	$(BIN)/celery -A csms worker --loglevel INFO
beat: install
	$(BIN)/celery -A csms beat --loglevel INFO --schedule var/celerybeat-schedule

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .import_linter_cache .grimp_cache .mypy_cache
