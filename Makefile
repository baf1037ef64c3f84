# `make demo` runs the whole pipeline on generated demo data; `make test` runs the test suite.
# Both first install everything into .venv from requirements.txt (once; again when it changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install demo test

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

test: install
	$(PY) -m pytest -q tests

demo: install
	bash demo.sh $(PY)
