# Thin aliases for course.py, which needs only Python (3.11 or newer) and works without make too:
# `make lab` is `python3 course.py lab`, `make test` is `python3 course.py test`.

PYTHON ?= python3

.PHONY: setup lab test lock
setup:
	$(PYTHON) course.py setup

lab:
	$(PYTHON) course.py lab $(LAB_FLAGS)

test:
	$(PYTHON) course.py test

lock:
	$(PYTHON) course.py lock
