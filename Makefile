# The two commands of the README, and a few helpers. Each target sets up what it needs.
PYTHON ?= python3
DATA ?= $(or $(SER_EDGE_DATA),../shared/data)
DEVICE_VENV ?= .venv-device
DEV_VENV ?= .venv
WHEEL_VENV ?= .venv-wheel
DEMO_CLIP ?= $(DATA)/ravdess/Actor_01/03-01-05-02-01-01-01.flac

.PHONY: run test wheel-check system-deps model bench clean

# 1. Set up the device install (what a Pi gets) and run the main job on the shipped model.
run: $(DEVICE_VENV)/.installed
	$(DEVICE_VENV)/bin/ser-edge info
	$(DEVICE_VENV)/bin/ser-edge classify $(DEMO_CLIP) $(DATA)/ravdess/Actor_02/03-01-04-01-01-01-02.flac
	$(DEVICE_VENV)/bin/ser-edge listen --from-wav $(DEMO_CLIP)

$(DEVICE_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(DEVICE_VENV)
	$(DEVICE_VENV)/bin/pip install --quiet --upgrade pip
	$(DEVICE_VENV)/bin/pip install --quiet ".[flac,mqtt]"
	touch $@

# 2. Set up everything the tests need (system packages, training stack), lint (ruff: pyflakes and
#    import order), run the tests, then check the wheel a user installs.
test: system-deps $(DEV_VENV)/.installed
	$(DEV_VENV)/bin/ruff check .
	$(DEV_VENV)/bin/python -m pytest
	$(MAKE) wheel-check

# Build the wheel, install it into a fresh venv with the device extras, run `ser-edge info` there.
wheel-check: $(DEV_VENV)/.installed
	DEV_PYTHON=$(DEV_VENV)/bin/python PYTHON=$(PYTHON) WHEEL_VENV=$(WHEEL_VENV) bash scripts/wheel-check

$(DEV_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(DEV_VENV)
	$(DEV_VENV)/bin/pip install --quiet --upgrade pip
	$(DEV_VENV)/bin/pip install --quiet -e ".[train,mqtt,flac,mic,dev]"
	touch $@

system-deps:
	bash scripts/install-system-deps

# Retrain, convert and tune the shipped bundles, default and 4class (models/MODEL_CARD.md; scripts/make-models).
model: $(DEV_VENV)/.installed
	bash scripts/make-models $(DATA)

bench: $(DEV_VENV)/.installed
	$(DEV_VENV)/bin/ser-edge bench

clean:
	rm -rf $(DEVICE_VENV) $(DEV_VENV) $(WHEEL_VENV) .cache build dist *.egg-info
