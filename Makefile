# Two commands: `make lab` opens the course, `make test` runs every check.
# Both create (once) a virtual environment in .venv inside this checkout.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# PyTorch's CPU-only wheels: on Linux, PyPI's default torch pulls gigabytes of CUDA packages.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_VERSION ?= 2.13.0
# Extra JupyterLab options. JupyterLab refuses to start as root (e.g. in a container) unless told.
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

# nbgrader (a dev dependency: the grading tests use it) adds menus and pages to JupyterLab that
# learners do not need; setup turns them off (an instructor who wants them: README, Grading).
NBGRADER_PARTS := formgrader validate_assignment assignment_list course_list

.PHONY: setup lab test lessons
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --no-deps --extra-index-url $(TORCH_INDEX) "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install -e ".[course,dev]"
	$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader
	for part in $(NBGRADER_PARTS); do \
	    $(BIN)/jupyter server extension disable --sys-prefix nbgrader.server_extensions.$$part; done
	touch $@

# A saved notebook keeps a line ("run this cell to get your grid back") where a widget was.
SAVE_HOOK := --ContentsManager.pre_save_hook=handcalc.saving.drop_widget_views

lab: setup
	$(BIN)/jupyter lab $(LAB_FLAGS) $(SAVE_HOOK) lessons/

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest
