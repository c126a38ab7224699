# Two commands set everything up on a fresh machine with Python 3.11 and pip:
#   make run   - create .venv, install newsbot, start the bot (console with sample articles if no tokens)
#   make test  - create .venv, install newsbot with test tools, run ruff, mypy and pytest
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

.PHONY: install run test lint bench eval
install: $(VENV)/.installed

run: install
	$(BIN)/python -m bot run

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

eval: install
	$(BIN)/python benchmarks/eval_retrieval.py --write
