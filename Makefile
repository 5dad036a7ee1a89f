# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench screenshots govuk-css clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Convene needs Python 3.11 or newer" or 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@ $(VENV)/.installed-run

## run: install, initialise the SQLite database (with a demo list on first run) and start everything
run: $(VENV)/.installed-run
	$(BIN)/convene init --demo
	$(BIN)/convene serve

## test: install the test extras, run the linters, then the whole suite in parallel
test: lint
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

## lint: ruff (style and formatting), mypy on mailer/ and web/, and the import contracts (pyproject.toml)
lint: $(VENV)/.installed-test
	$(BIN)/ruff check mailer web tests bench
	$(BIN)/ruff format --check mailer web tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## screenshots: refresh docs/screenshots from the browser tests
screenshots: $(VENV)/.installed-test
	mkdir -p docs/screenshots
	CONVENE_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest tests/browser/test_accessibility.py tests/browser/test_meeting_cycle.py -q -p no:randomly

## bench: run the benchmarks in bench/ (not part of the test suite)
bench: $(VENV)/.installed-test
	$(BIN)/python bench/run_all.py

## govuk-css: rebuild web/static/govuk/govuk-frontend.min.css from GOV.UK Frontend (needs npm; not needed to run or test)
GOVUK_FRONTEND_VERSION ?= 6.6.0
govuk-css:
	rm -rf .govuk-build && mkdir .govuk-build
	cd .govuk-build && npm install --silent --no-save govuk-frontend@$(GOVUK_FRONTEND_VERSION) sass
	cp web/static/govuk/convene-govuk.scss .govuk-build/
	cd .govuk-build && ./node_modules/.bin/sass --no-source-map --style=compressed --quiet convene-govuk.scss ../web/static/govuk/govuk-frontend.min.css
	rm -rf .govuk-build

clean:
	rm -rf $(VENV) var .pytest_cache
