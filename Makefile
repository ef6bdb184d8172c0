# Meridian: `make run` starts the demo, `make test` runs the suite. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format clean demo-mail

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	bin/run

# Ingest the sample Maildir that ships with the demo (a copy: ingesting moves messages to cur/).
demo-mail: $(STAMP)
	rm -rf var/demo-maildir && mkdir -p var && cp -r demo/maildir var/demo-maildir
	SECRET_KEY="$${SECRET_KEY:-$$(cat var/dev-secret-key 2>/dev/null || echo demo-only)}" \
	  $(BIN)/python manage.py ingest_email --maildir var/demo-maildir --mailbox Support

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=lint-only $(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var
