# Two commands matter: `make run` and `make test`. Everything else is a step they use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test lint ci-services browser clean-test-state bench scaleout

# `make run` installs what running needs, `make test` adds the test tools (pyproject's extras).
$(VENV)/.installed-run: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-run
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

var/local.env: | $(VENV)/.installed-run
	$(PY) -m portal.bootstrap

run: $(VENV)/.installed-run var/local.env
	$(PY) manage.py migrate --noinput
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)} $(PY) manage.py run_local --port $(PORT)

# Debian's Chromium for the browser tests; Playwright's own browser download cannot be used.
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

# Everything runs, the slow crash tests too (CI has the time). Locally,
# `make test MARKERS="not slow"` skips them, `MARKERS=slow` runs only them.
MARKERS ?=
# One test process per core (pytest-xdist); TEST_PROCESSES=0 runs them all in this process.
TEST_PROCESSES ?= auto
test: $(VENV)/.installed-test var/local.env browser lint
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n $(TEST_PROCESSES) $(if $(MARKERS),-m "$(MARKERS)") $(PYTEST_ARGS)

# Benchmarks (docs/performance.md), never part of `make test`: each starts PostgreSQL and Redis
# as .ci/run does, serves Callboard with gunicorn and prints its figures beside the bare view's.
# `make bench BENCH=webhooks` runs one; BENCH_ARGS="--help" shows a benchmark's options.
BENCH ?= webhooks answer_url call_log live_latency placement campaign
bench: $(VENV)/.installed-test browser
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	@for name in $(BENCH); do $(PY) -m bench.$$name $(BENCH_ARGS) || exit 1; done

# Past one machine (docs/operations.md): nginx in front of two web nodes, two worker nodes,
# beat, PostgreSQL and a Redis of its own, as separate nodes of this machine with nothing on
# disk shared; every check goes through the balancer, then the figures (docs/performance.md).
# SCALEOUT_ARGS="--quick" is the reduced run, "--help" shows the options.
scaleout: $(VENV)/.installed-test browser
	@test -x /usr/sbin/nginx || { apt-get update -qq && apt-get install -y -qq nginx; }
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(PY) -m bench.scaleout $(SCALEOUT_ARGS)
