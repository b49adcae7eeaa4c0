# The verbs of the project. `make run` and `make test` are all a new machine needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/common:$(CURDIR)/services/volunteers:$(CURDIR)/services/activities:$(CURDIR)/services/notifications:$(CURDIR)/services/organiser:$(CURDIR)/services/appeals:$(CURDIR)

.PHONY: venv run demo test test-unit test-integration test-reliability test-cluster test-security bench loadsim lint format contract check-compose clean

venv: $(STAMP)

$(STAMP): requirements.lock requirements.in pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check 'pip==26.3'
	$(BIN)/pip install -q --disable-pip-version-check -c requirements.lock -r requirements.in
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

tests/js/node_modules: tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	touch tests/js/node_modules

node-deps: $(if $(wildcard tests/js/package-lock.json),tests/js/node_modules)

## run: install, migrate, load the demo data and run every service in the foreground
run: venv
	$(BIN)/python scripts/run.py

## demo: (re)load the demo data only
demo: venv
	$(BIN)/python scripts/run.py --demo-only

## test: every unit and integration test, on SQLite and PostgreSQL
test: venv node-deps
	$(BIN)/python scripts/preflight.py
	$(BIN)/pytest -m "not reliability" $(PYTEST_ARGS)

test-unit: venv
	$(BIN)/pytest -m "not integration and not reliability" $(PYTEST_ARGS)

test-integration: venv node-deps
	$(BIN)/pytest -m "integration" $(PYTEST_ARGS)

## test-reliability: faults injected into running services (broker restart, kill -9, fuzzing)
test-reliability: venv node-deps
	$(BIN)/python scripts/preflight.py
	$(BIN)/pytest -m reliability -p no:randomly -s $(PYTEST_ARGS)

## test-cluster: three RabbitMQ nodes clustered on this machine, nodes stopped under load (see docs/DEPLOY.md)
test-cluster: venv
	GUANYINLI_CLUSTER=1 $(BIN)/pytest tests/cluster -m cluster -p no:randomly -s $(PYTEST_ARGS)

## test-security: every RPC method as every kind of caller, forged events and broker accounts, feed tokens, the organiser page (redirects, CSRF, login floods); prints attack, tries, refused, leaked
test-security: venv
	$(BIN)/python scripts/preflight.py
	$(BIN)/pytest -m security -p no:randomly --databases sqlite $(PYTEST_ARGS)

## bench: every benchmark (long); see benchmarks/README.md for single ones
bench: venv
	$(BIN)/python benchmarks/run_all.py

## loadsim: a simulated district's month on PostgreSQL, 1/10/100 communities x 1/2/4 replicas (about an hour); ARGS=--quick: ~10 min
loadsim: venv
	$(BIN)/python benchmarks/bench_loadsim.py $(ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## contract: regenerate docs/CONTRACT.md from the schemas
contract: venv
	$(BIN)/python scripts/gen_contract.py > docs/CONTRACT.md

check-compose: venv
	$(BIN)/python scripts/check_compose.py

clean:
	rm -rf var/*.db var/*.db-* .pytest_cache
