# The two set-up commands of the README, and the benchmarks.
PYTHON ?= python3
export PYTHON

.PHONY: demo test bench setup

setup:
	@bash .ci/setup tex

demo: setup
	$(PYTHON) -m symderiv build lecture --pdf

test: setup
	$(PYTHON) -m pytest -q -n auto --dist loadgroup

bench:
	@bash .ci/setup
	@$(PYTHON) -c "import pyinstrument" 2>/dev/null || $(PYTHON) -m pip install -q 'pyinstrument>=4.6' \
		|| $(PYTHON) -m pip install -q --break-system-packages 'pyinstrument>=4.6'
	$(PYTHON) bench/run.py
