# Fragrance AI. `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install browser lint ingest-38k eval bench clean help

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)  ## create the virtual environment and install the pinned set

run: install  ## ingest the starter catalog if nothing is ingested yet, then serve on 127.0.0.1:8000
	$(BIN)/fragrance-ai ingest --if-missing
	$(BIN)/fragrance-ai serve

# The browser tests drive Debian's Chromium (Playwright's own download is not used); Korean text needs
# the Noto CJK fonts. Installed only when missing, so this is a no-op on a prepared machine.
browser:  ## Debian's chromium and CJK fonts for the browser tests (installed only when missing)
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	fi

test: install browser  ## run the whole test suite
	$(BIN)/python -m pytest

lint: install  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

ingest-38k: install  ## ingest the 38k reference catalog from ../shared/data
	$(BIN)/fragrance-ai ingest --catalog ../shared/data/perfumes_fragrantica_38k.csv

eval: install  ## search precision@5 on the ingested catalog
	$(BIN)/fragrance-ai eval search

bench: install  ## search latency/throughput benchmark (JSON + PNG in bench/results)
	$(BIN)/fragrance-ai bench search

clean:  ## remove the virtual environment and the data folder
	rm -rf $(VENV) var
