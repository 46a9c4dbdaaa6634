"""Run by every kernel the course's JupyterLab starts (`python course.py lab` points
PYTHONSTARTUP here): a NameError also says what a learner most likely has to do.

After a kernel restart, or in a notebook just opened, a cell run alone fails with
"name 'MatrixEntry' is not defined": the cells above it, which make that name, have not run in
this kernel. The note added under the error says so in the course's words. Tracebacks are
printed without colours, which are hard to read on JupyterLab's error background. The file is
run, not imported, and imports nothing from the course, so a kernel starts as fast as without
it.
"""

from __future__ import annotations


def name_error_note(name: str, first_cell: bool) -> str:
    """What to add under "name '<name>' is not defined"; first_cell: no cell ran before it.
    Wrapped between words at 88 characters (JupyterLab breaks a long line inside a word)."""
    import textwrap  # here, not at the top: this file's names are deleted from the kernel's

    run_above = (
        "run the cells above this one (Run menu, Run All Above Selected Cell), then this cell."
    )
    if first_cell:
        said = (
            "No cell has run since the kernel started (it restarted, or the notebook was just "
            f"opened), so nothing the cells above make exists yet: {run_above}"
        )
    else:
        said = (
            f"Nothing called {name} exists in this kernel. If a cell above makes it, {run_above} "
            "Otherwise check the spelling (capitals count)."
        )
    return textwrap.fill(said, 88)


def install() -> None:
    """Add the note to every NameError a cell raises in this IPython kernel (else: nothing)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    cells_run = [0]  # cells started in this kernel, this one included

    def count(*_) -> None:
        cells_run[0] += 1

    def explain(shell, etype, value, tb, tb_offset=None, note=name_error_note):
        # (note is bound here: the names this file defines are deleted from the kernel's.)
        if isinstance(value, NameError) and value.name:
            value.add_note(note(value.name, cells_run[0] <= 1))
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)

    shell.events.register("pre_run_cell", count)
    shell.set_custom_exc((NameError,), explain)
    # Tracebacks in plain text: JupyterLab draws IPython's coloured ones on a pink background
    # where yellow, cyan or green text is hard to read (1.5:1 to 3.7:1; WCAG AA asks 4.5:1).
    shell.colors = "nocolor"


if __name__ == "__main__":
    install()
    del install, name_error_note, annotations
