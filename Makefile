# The two commands: `make run` and `make test`. Only Python 3.11 and make are needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
export ECERT_INSTANCE_DIR ?= instance

.PHONY: run test venv dev-deps init demo bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The pinned requirements are the install source; then the project itself, editable and with no
# dependencies of its own to resolve, so `python -m verification` works from any directory.
$(VENV)/.runtime: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@ $(VENV)/.runtime

venv: $(VENV)/.runtime

init: $(VENV)/.runtime
	$(FLASK) ecert init
	$(FLASK) ecert seed-demo

# gunicorn in the foreground; beside it the notification relay and, when no gateway is configured
# (ECERT_NOTIFY_WEBHOOK_URL unset), the development receiver that prints each notification. Both
# stop when gunicorn stops (Ctrl-C included).
run: init
	@$(BIN)/python -m ecert.dev.welcome
	@pids=""; stop() { [ -z "$$pids" ] || kill $$pids 2>/dev/null; pids=""; }; \
	trap 'stop; exit 130' INT TERM; trap stop EXIT; \
	if [ -z "$$ECERT_NOTIFY_WEBHOOK_URL" ]; then $(BIN)/python -m ecert.dev.receiver & pids="$$pids $$!"; fi; \
	$(FLASK) ecert outbox relay & pids="$$pids $$!"; \
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
