# labdock: the two commands a newcomer needs are `make site` and `make test`.
# Every target is idempotent: the venv is rebuilt only when a requirements file changes.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
comma := ,
space := $(subst ,, )

.PHONY: site rollback test venv provision test-tools lint unit integration e2e bench maintenance clean \
	room-up room-down

site: venv ## Run the main job (site.yml) on this machine
	$(BIN)/ansible-playbook site.yml $(ANSIBLE_ARGS)

# Registry maintenance: prune by registry_retention_rules, GC in a read-only window.
maintenance: venv ## Prune and garbage-collect the lab registry (playbooks/maintenance.yml)
	$(BIN)/ansible-playbook playbooks/maintenance.yml $(ANSIBLE_ARGS)

# Back to each named stack's previous deployment (its .env.previous digests), blue/green.
rollback: venv ## Roll STACKS (space-separated) back to their previous deployment
	@test -n "$(STACKS)" || { echo "make rollback: set STACKS to the stacks to roll back, e.g. make rollback STACKS=frontend_backend" >&2; exit 2; }
	$(BIN)/ansible-playbook playbooks/stacks.yml -e stacks_rollback=true \
	  -e '{"stacks_enabled": [$(subst $(space),$(comma),$(patsubst %,"%",$(strip $(STACKS))))]}' $(ANSIBLE_ARGS)

test: lint provision test-tools ## Lint, then unit, integration and end-to-end tests
	$(BIN)/pytest $(PYTEST_ARGS)

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt -e .
	touch $@

# Docker engine tooling (Compose v2 plugin) and the base images, built from Debian
# packages when nothing can be pulled: what the tests need before they start.
provision: venv
	$(BIN)/ansible-playbook playbooks/provision.yml $(ANSIBLE_ARGS)

# Test tools from Debian, installed when we may (root with apt), else the tests that need them
# are skipped with the reason: the PHP CLI runs the student website's page in its unit tests,
# skopeo is the second registry client of the accounts tests, Debian's chromium (headless,
# driven through its DevTools protocol) is the browser of the registry UI tests.
test-tools:
	@command -v php >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends php8.2-cli >/dev/null; } || \
	  echo "php CLI not installed: the student website's unit tests will be skipped"
	@command -v skopeo >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends skopeo >/dev/null; } || \
	  echo "skopeo not installed: the accounts test that copies with skopeo will be skipped"
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; } || \
	  echo "chromium not installed: the registry UI's browser tests will be skipped"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --offline --profile production

unit: venv
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: provision
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

e2e: provision
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

bench: provision
	$(BIN)/python -m bench $(BENCH_ARGS)

# A room of N throwaway lab hosts (Debian containers with systemd and sshd, no Docker) to try
# `ansible-playbook -i inventory/room.yml site.yml` and `labdock room` by hand.
N ?= 3
room-up: venv
	$(BIN)/python -m tests.harness.room up --hosts $(N)

room-down: venv
	$(BIN)/python -m tests.harness.room down

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
