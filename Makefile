# The two-command quick start: `make run` (set up, then the demo) and `make test` (set up, then the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test typecheck bench bench-accuracy bench-speed bench-video bench-crawl bench-import bench-scan bench-record clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/spreadtrace demo

test: $(VENV)/.installed
	$(BIN)/python -m pytest

typecheck: $(VENV)/.installed
	$(BIN)/mypy

bench: bench-accuracy bench-speed bench-video bench-crawl bench-import bench-scan bench-record

bench-accuracy: $(VENV)/.installed
	$(BIN)/python -m benchmarks.accuracy

bench-speed: $(VENV)/.installed
	$(BIN)/python -m benchmarks.speed

bench-video: $(VENV)/.installed
	$(BIN)/python -m benchmarks.video

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache

bench-crawl: $(VENV)/.installed
	$(BIN)/python -m benchmarks.crawl

bench-import: $(VENV)/.installed
	$(BIN)/python -m benchmarks.import_hashes

bench-scan: $(VENV)/.installed
	$(BIN)/python -m benchmarks.scan

bench-record: $(VENV)/.installed
	$(BIN)/python -m benchmarks.record
