# The two commands that matter: `make run` and `make test`. Both set up first.
SHELL := /bin/bash
PY := .venv/bin/python
RASA := .venv/bin/rasa
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
# rasa data validate / train read endpoints.yml, which takes values from the environment.
export ACTION_ENDPOINT_URL ?= http://127.0.0.1:5055/webhook
export TRACKER_STORE_URL ?= sqlite:///var/tracker.db
export LOCK_STORE_TYPE ?= in_memory
export REDIS_HOST ?= 127.0.0.1
export REDIS_PORT ?= 6379
export REDIS_LOCK_DB ?= 1

TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*.yml data/*/*.yml)

.PHONY: setup run train validate test test-production production-up bench audit nlu-eval lint lock clean help

help:
	@echo "make run    start the assistant on embedded defaults (sets up and trains if needed)"
	@echo "make test   set up if needed, validate data, run pytest and Rasa's test stories"
	@echo "make nlu-eval  NLU cross-validation and held-out F1 (about 3 minutes)"
	@echo "make train | validate | lint | lock | clean"

setup:
	@bash scripts/setup.sh

# Make skips `rasa train` when no training input is newer than the model: even with
# nothing to retrain, Rasa spends about 25 s validating and repacking 3,000 examples.
train: setup models/assistant.tar.gz models/safety-classifier.npz

# The risk engine's classifier (chatbot/safety/classifier.py), about a minute. The Rasa
# server would retrain it at start if it were missing or stale; this keeps that off the clock.
SAFETY_INPUTS := $(wildcard knowledge/safety/corpus/*.yml tests/data/*.yml tests/data/safety/*.yml data/nlu/*.yml) \
  chatbot/safety/classifier.py knowledge/safety/lexicon.yaml knowledge/safety/risk_patterns.yaml
models/safety-classifier.npz: $(SAFETY_INPUTS)
	@mkdir -p models
	@echo "==> training the risk classifier"
	@$(PY) -m chatbot safety train
	@touch models/safety-classifier.npz

models/assistant.tar.gz: $(TRAINING_INPUTS)
	@mkdir -p var models
	@echo "==> training (log: var/train.log)"
	@$(RASA) train --quiet --out models --fixed-model-name assistant > var/train.log 2>&1 \
	  || { tail -n 30 var/train.log >&2; echo "error: training failed; the full log is var/train.log" >&2; exit 1; }
	@touch models/assistant.tar.gz

run: train
	@$(PY) -m chatbot run

validate: setup
	@echo "==> rasa data validate (warnings fail)"
	@$(RASA) data validate --fail-on-warnings --quiet
	@$(PY) -m chatbot kb validate

test: validate train
	@bash scripts/setup_browser.sh  # Debian's Chromium, for the web widget's tests
	@echo "==> pytest"
	@$(PY) -m pytest
	@echo "==> Rasa test stories"
	@$(RASA) test core --model models/assistant.tar.gz --stories tests/stories \
	  --fail-on-prediction-errors --out var/results --quiet

# The production profile (PostgreSQL, Redis, nginx, 2 Rasa + 2 action servers): docs/deployment.md.
# The Makefile's embedded-default exports must not reach it.
production-up: train
	@bash scripts/setup_production.sh
	@env -u TRACKER_STORE_URL -u LOCK_STORE_TYPE -u ACTION_ENDPOINT_URL $(PY) -m chatbot production up

test-production: validate train  ## the production profile's tests (private PostgreSQL and Redis; about 2 min)
	@bash scripts/setup_production.sh
	@echo "==> production profile tests"
	@$(PY) -m pytest tests/production

bench: train  ## the full assistant against a bare `rasa init` bot, in one run (bench/run.py --help)
	@$(PY) bench/run.py

audit: setup  ## dependencies: lock vs venv and pip check (offline); scripts/audit.py --online also asks PyPI
	@$(PY) scripts/audit.py

nlu-eval: train  ## NLU quality: 5-fold cross-validation and the held-out sets (about 3 minutes)
	@$(PY) scripts/nlu_eval.py

lint: setup
	@.venv/bin/ruff check chatbot actions tests bench scripts

lock:
	@bash scripts/lock.sh

clean:
	rm -rf models var/results .rasa
