# The two commands a user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint lab bench clean docs

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	$(BIN)/python -m pip check
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/crmsim run scenarios/funnel.toml

test: $(STAMP)
	$(BIN)/ruff check crmsim tests benchmarks
	CRMSIM_FAST=1 PLOTLY_RENDERER=plotly_mimetype $(BIN)/python -m pytest -q --nbval-lax \
		--nbval-sanitize-with notebooks/sanitize.cfg --doctest-modules crmsim tests notebooks

docs: $(STAMP)
	$(BIN)/python -m sphinx -b html -W --keep-going -q docs docs/_build/html
	@echo "open docs/_build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check crmsim tests benchmarks

lab: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,lab]"
	$(BIN)/jupyter lab notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_funnel.py

clean:
	rm -rf $(VENV) results docs/_build docs/_generated
