# Marsad: `make demo` installs and runs the main job on seeds/, `make test` runs the test suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT := out

.PHONY: demo test install install-test gazetteer bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

demo: install
	$(BIN)/marsad demo seeds/ -o $(OUT)

test: install-test
	bash scripts/install_browser.sh
	bash scripts/install_postgis.sh
	$(BIN)/python -m pytest -q

# Rebuild the shipped gazetteer from its sources (see gazetteer/data/SOURCES.md).
gazetteer: $(BIN)/python
	$(BIN)/pip install -q -e '.[build]'
	$(BIN)/python -m gazetteer.build

bench: $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python benchmarks/parse_speed.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
