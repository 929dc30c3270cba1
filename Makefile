# One entry point for developers and CI: `make run`, `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 2775

.PHONY: run simulator test lint typecheck bench clean

# Chatti alone for `make run`; its test tools (the `dev` extras) only for the targets that use them.
$(BIN)/chatti: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: $(BIN)/chatti
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

tests/interop/node_modules: tests/interop/package.json tests/interop/package-lock.json
	@if command -v npm >/dev/null; then cd tests/interop && npm ci --silent --no-audit --no-fund && touch node_modules; \
	else echo "npm not found: the node-smpp interop test will be skipped (CI installs it)"; fi

# Start Chatti on its embedded default: SQLite in ./chatti-data, the API on :8080.
run: $(BIN)/chatti
	$(BIN)/chatti serve --data-dir chatti-data --host 127.0.0.1 --port 8080

simulator: $(BIN)/chatti
	$(BIN)/chatti simulator --host 127.0.0.1 --port $(PORT)

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.dev
	$(BIN)/mypy

test: $(VENV)/.dev tests/interop/node_modules lint typecheck
	PYTHONASYNCIODEBUG=1 $(BIN)/pytest -n 2 -p no:cacheprovider

bench: $(BIN)/chatti
	$(BIN)/chatti bench smpp

clean:
	rm -rf $(VENV) tests/interop/node_modules
