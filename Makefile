# Two commands on a fresh machine (python3, make, git): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: screenshots run test lint lock clean histories bench bench-long browser

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	touch $(STAMP)

var:
	mkdir -p -m 700 var

## run: the whole embedded system (Temporal dev server + Web UI on :8233, database, worker,
## the edge on :8000); its secrets are made on first start into var/dev-secrets.env
run: $(STAMP) var
	$(PY) -m starter dev-secrets
	umask 077 && $(VENV)/bin/alembic upgrade head
	umask 077 && $(PY) -m starter seed
	$(PY) -m starter up

## browser: Debian's Chromium and CJK fonts, which Playwright drives in the page tests
browser:
	@command -v chromium >/dev/null && dpkg -s fonts-noto-cjk >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends chromium fonts-noto-cjk >/dev/null; }

## test: the whole suite (time-skipping server, dev server, SQLite, a real browser)
test: $(STAMP) browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## lock: re-pin dependencies (versions and hashes, no download addresses)
lock:
	$(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet uv
	.lock-venv/bin/uv pip compile pyproject.toml --extra dev --generate-hashes \
		--python-version 3.11 -o requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf var

## histories: re-record the replay-test histories (only when a change is meant to be incompatible)
histories: $(STAMP)
	JSHR_RECORD_HISTORIES=1 $(PY) -m pytest -q tests/workflows/test_registration_workflow.py \
		-k "happy_path or two_rejections or reminders or withdraw_while or correction_window or unit_admin"
	JSHR_RECORD_HISTORIES=1 $(PY) -m pytest -q tests/workflows/test_vouching.py -k forged_decision

## bench: throughput, CPU, latency, history size and memory beside a no-op skeleton, each part its own process (not part of test; ~5 min; BENCH_ARGS="--workers 2" etc.)
bench: $(STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

## bench-long: 10,000 registrations waiting for review (~20 min), short other passes; bench/results/waiting-10000.md
bench-long: $(STAMP)
	$(PY) -m bench.run --waiting 10000 --total 40 --half-load-total 0 --profile-total 0 \
		--edge-applicants 0 --output bench/results/waiting-10000 $(BENCH_ARGS)

## screenshots: the main pages at phone and desktop width, as PNGs in docs/screenshots/
screenshots: $(STAMP) browser
	JSHR_SCREENSHOTS=1 $(PY) -m pytest -q tests/browser -k screenshots
