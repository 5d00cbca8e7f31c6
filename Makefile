# Quick start: `make demo` (sharpen the bundled sample) and `make test` (the test suite).
# Each creates .venv with only Python >= 3.11 on the machine and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-all clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps 'jax2onnx==0.17.1'  # see pyproject.toml, export extra
	touch $@

demo: $(VENV)/.installed
	$(PY) -m jaxsharp.demo
	@echo "jaxsharp is installed in $(VENV): 'source $(VENV)/bin/activate' (or $(VENV)/bin/jaxsharp --help)"

test: $(VENV)/.installed
	$(PY) -m pytest -q

test-all: $(VENV)/.installed
	$(PY) -m pytest -q -m "slow or not slow"

clean:
	rm -rf $(VENV) outputs
