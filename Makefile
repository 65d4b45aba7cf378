# Two commands on a fresh machine with only python3 and make:
#   make run    install everything into .venv, compile translations, migrate, start the bot
#   make test   install everything (with test tools) and run lint, the layer contracts (lint-imports,
#               see [tool.importlinter] in pyproject.toml) and the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint format locales extract migrate bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgres,redis]'
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

locales: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d locales -D messages --statistics 2>&1 | grep -v '^compiling' || true

run: $(STAMP) locales
	@test -f .env || { cp .env.example .env; echo "Created .env from .env.example: put your BOT_TOKEN there."; }
	$(BIN)/python main.py run

migrate: $(STAMP)
	$(BIN)/python main.py migrate

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(DEV_STAMP)
	$(BIN)/pybabel compile -d locales -D messages >/dev/null
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Refresh locales/messages.pot and merge new strings into the .po files (then translate them).
extract: $(DEV_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k __ --no-location --sort-output --omit-header -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-location --omit-header --no-fuzzy-matching

bench: $(DEV_STAMP)
	$(BIN)/python bench/roundtrip.py
	$(BIN)/python bench/memory.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
