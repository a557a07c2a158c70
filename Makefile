# LabelLoop: `make run` starts the app on the demo catalogue; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
# Listen on this machine only; HOST=0.0.0.0 opens the app to the network (put TLS in front).
HOST ?= 127.0.0.1
DEMO ?= 1

.PHONY: run test lint init clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

init: $(VENV)/.runtime
	$(BIN)/python -m labeling init $(if $(filter 1,$(DEMO)),--demo) --train

run: init
	$(BIN)/streamlit run streamlit_app.py --server.port $(PORT) --server.address $(HOST) \
		--server.headless true \
		--browser.gatherUsageStats false

test: $(VENV)/.dev
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache
