.PHONY: lab test bench setup
lab:    ## set up .venv and run the lab on the built-in engine
	@scripts/lab.sh
test:   ## install what the tests need and run the whole suite
	@scripts/test.sh
setup:
	@scripts/setup.sh --test
bench:  ## throughput and memory against a real redis-server
	.venv/bin/python bench/throughput.py && .venv/bin/python bench/memory.py
