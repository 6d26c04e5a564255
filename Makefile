# Ovation: make-first. `make help` lists what you can do.
.DEFAULT_GOAL := help
SHELL := /bin/bash
UV ?= uv

.PHONY: help install run dev test test-fast lint format typecheck bench soak schemas clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

install: ## Install every package and tool into .venv (uv sync)
	$(UV) sync --frozen

run: install ## Run Ovation locally: embedded NATS, every service, the simulator (ovation up)
	$(UV) run ovation up

dev: install ## Run locally with debug logs and a busier simulator
	OVATION_LOG_LEVEL=DEBUG INGEST_SIMULATOR_RATE=60 $(UV) run ovation up

test: ## Run the whole test suite (real NATS, S3 and Chromium; what CI runs)
	$(UV) run pytest

test-fast: ## Run the tests that need no browser and are not slow
	$(UV) run pytest -m "not slow and not browser"

lint: ## ruff (lint and format check) and mypy --strict
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy libs/*/src services/*/src tests/fakes

format: ## Format and fix what ruff can
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

schemas: ## Regenerate the committed JSON Schemas after changing a contract
	$(UV) run python -m ovation_contracts.schemas

bench: ## Run every benchmark: one JSON report, then the README's table (BENCH_OUT=file also saves the JSON)
	PYTHONPATH=. $(UV) run python bench/report.py

soak: ## Not in CI: `ovation up` with the simulator at 5 donations/s for SOAK_MINUTES (30); memory, files, tasks, errors
	PYTHONPATH=. $(UV) run python bench/soak.py

clean: ## Remove caches and the local run's data (.ovation)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis .ovation
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
