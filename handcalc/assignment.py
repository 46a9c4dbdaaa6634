"""What a lesson grades, in nbgrader's terms, and the notebook a grader runs for one learner.

An exercise is a check cell (tagged `check`) and the answer cells before it: the code cells since
the previous check cell that hold a `### BEGIN SOLUTION` region (in a lesson: that nbgrader marks
as solution cells). It is named after the first
function or class its answer cells define ("my_linear") and is worth one point.

The notebook a grader runs is the solution notebook with each answer cell replaced by the
learner's: every other cell, the check cells above all, is the course's own, whatever the
learner's copy holds. The learner's answer cell is found by its nbgrader grade_id, then by its cell
id, then by the function it defines, so a moved cell is still found; a deleted one is graded from
the lesson's stub, as not done. Cells that no check depends on (figures, widgets, worksheets) are
left out: `needed` follows the names each cell binds and reads.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
OWN = "-own"  # the id of a check cell's copy on the learner's own problem: its id and this
STUB = 'raise NotImplementedError("Your turn: replace this line with your code.")'
CHECK = "check"  # the tag of a check cell
POINTS = 1


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: answers and check are cell ids; functions are the names the answer
    cells define, which the check calls."""

    name: str
    answers: tuple[str, ...]
    check: str
    functions: tuple[str, ...]
    points: int = POINTS


def strip_solution(source: str) -> str:
    """The code cell's source with every solution region replaced by a stub."""
    lines, out, inside = source.split("\n"), [], False
    for number, line in enumerate(lines, start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"line {number}: {BEGIN} inside another solution region")
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + STUB)
        elif marker == END:
            if not inside:
                raise ValueError(f"line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} is never closed")
    return "\n".join(out)


def syntax_error(source: str) -> SyntaxError | None:
    """The error Python would raise compiling a cell (IPython's %magics allowed), or None."""
    try:
        ast.parse(_python(source))
    except SyntaxError as error:
        return error
    return None


def defined_names(source: str) -> tuple[str, ...]:
    """The functions and classes a cell defines at its top level (none if it does not parse)."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return ()
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return tuple(node.name for node in tree.body if isinstance(node, kinds))


def _python(source: str) -> str:
    """A cell's source as plain Python: IPython's magics and shell escapes become calls."""
    if "%" not in source and "!" not in source:
        return source
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # without IPython, the source as it is
        return source
    return TransformerManager().transform_cell(source)


def cell_names(source: str, modules: frozenset[str] = frozenset()) -> tuple[set, set] | None:
    """(names a cell binds or changes, names it reads from earlier cells), or None when the cell
    does not parse or uses IPython's magics (such a cell is always run). Changing counts as
    binding: `x.a = 1`, `x[0] += 1` and a statement `x.fit(...)` change x, unless x is one of
    `modules` (`hc.show(...)` changes nothing; `np.random.seed(0)`, a seed, does)."""
    python = _python(source)
    if "get_ipython" in python:
        return None
    try:
        tree = ast.parse(python)
    except SyntaxError:
        return None
    scan = _Scan()
    scan.block(tree.body)
    changed = {root for root, call in scan.calls if root not in modules or "seed" in call}
    return scan.binds | changed, scan.reads


class _Scan:
    """Walks a cell's statements in order; a name read after the cell bound it is not a read."""

    def __init__(self) -> None:
        self.binds: set[str] = set()
        self.reads: set[str] = set()
        self.calls: set[tuple[str, str]] = set()  # x.fit(...) as a statement: ("x", "fit")

    def read(self, name: str) -> None:
        if name not in self.binds:
            self.reads.add(name)

    def expression(self, node: ast.AST) -> None:
        inner = {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)} | {
            n.id for c in ast.walk(node) if isinstance(c, ast.comprehension)
            for n in ast.walk(c.target) if isinstance(n, ast.Name)
        }  # fmt: skip
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in inner:
                self.read(n.id)

    def target(self, node: ast.AST, augmented: bool = False) -> None:
        if isinstance(node, ast.Name):
            if augmented:
                self.read(node.id)
            self.binds.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.target(element)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            self.expression(node)  # x[i] = ... reads x and i, and changes x
            base = node.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Name):
                self.binds.add(base.id)

    def block(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            local = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                     and not isinstance(n.ctx, ast.Load)}  # fmt: skip
            local |= {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
            for n in ast.walk(node):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in local:
                    self.read(n.id)
            self.binds.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            if node.value is not None:
                self.expression(node.value)
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                self.target(target, augmented=isinstance(node, ast.AugAssign))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expression(node.iter)
            self.target(node.target)
            self.block(node.body + node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expression(item.context_expr)
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
            self.block(node.body)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            self.binds |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Expr):
            self.expression(node.value)
            call = node.value
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
                root = call.func.value
                while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
                    root = root.func if isinstance(root, ast.Call) else root.value
                if isinstance(root, ast.Name):
                    self.calls.add((root.id, call.func.attr))
        else:  # if, while, try, del, assert, ...: its expressions, then its blocks
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    self.statement(child)
                elif isinstance(child, ast.expr):
                    self.expression(child)
                elif isinstance(child, ast.ExceptHandler):
                    self.binds |= {child.name} if child.name else set()
                    self.block(child.body)


def _imports(source: str) -> set[str]:
    """The names a cell's import statements bind."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return set()
    kinds = (ast.Import, ast.ImportFrom)
    return {
        (a.asname or a.name).split(".")[0]
        for node in ast.walk(tree) if isinstance(node, kinds) for a in node.names
    }  # fmt: skip


def needed(notebook: nbformat.NotebookNode, keep: set[str]) -> set[str]:
    """The ids of the code cells to run so that the `keep` cells run as in the whole notebook:
    those, and every cell that binds or changes a name that a needed cell reads. (Read off the
    code, so a change it cannot see, such as a function that edits its argument, is missed:
    tests/test_grading.py runs every lesson this way and gets full marks from its solution.)"""
    code = [c for c in notebook.cells if c.cell_type == "code"]
    modules = frozenset(name for c in code for name in _imports(c.source))
    names = {c.id: cell_names(c.source, modules) for c in code}
    chosen = {c.id for c in code if c.id in keep or names[c.id] is None}
    wanted: set[str] = set()
    while True:
        before = len(chosen)
        for cell in reversed(code):
            found = names[cell.id]
            if found and found[0] & wanted:
                chosen.add(cell.id)
            if cell.id in chosen and found:
                wanted |= found[1]
        if len(chosen) == before:
            return chosen


def exercises(notebook: nbformat.NotebookNode) -> list[Exercise]:
    """The lesson's exercises, in order."""
    found, answers = [], []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if BEGIN in cell.source or cell.metadata.get("nbgrader", {}).get("solution"):
            answers.append(cell)
        if CHECK in cell.metadata.get("tags", []):
            if not answers:
                raise ValueError(f"check cell {cell.id} has no answer cell before it")
            names = tuple(n for answer in answers for n in defined_names(answer.source))
            name = names[0] if names else f"exercise_{len(found) + 1}"
            found.append(Exercise(name, tuple(a.id for a in answers), cell.id, names))
            answers = []
    return found


def answer_id(cell: nbformat.NotebookNode) -> str:
    """An answer cell's nbgrader grade_id: answer_ and the first name it defines."""
    names = defined_names(cell.source) or (cell.id,)
    return f"answer_{names[0]}"


def add_nbgrader_metadata(notebook: nbformat.NotebookNode, lesson: str) -> None:
    """Mark the answer cells as nbgrader solution cells and the check cells as autograded,
    read-only test cells worth POINTS; record the lesson's name in the notebook's metadata."""
    notebook.metadata["handcalc"] = {"lesson": lesson}
    graded = {e.check: e for e in exercises(notebook)}
    answers = {a for e in graded.values() for a in e.answers}
    for cell in notebook.cells:
        base = {"schema_version": 3, "task": False}
        if cell.get("id") in answers:
            cell.metadata["nbgrader"] = base | {
                "grade": False,
                "grade_id": answer_id(cell),
                "locked": False,
                "solution": True,
            }
        elif cell.get("id") in graded:
            exercise = graded[cell.id]
            cell.metadata["nbgrader"] = base | {
                "grade": True,
                "grade_id": exercise.name,
                "locked": True,
                "points": exercise.points,
                "solution": False,
            }
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _find(answer: nbformat.NotebookNode, cells: list[nbformat.NotebookNode]):
    """The learner's cells for one of the course's answer cells: by nbgrader's grade id, else
    by cell id, else by the functions it defines (a copied cell keeps all three, so there may
    be several; the last one is the learner's latest)."""
    code = [c for c in cells if c.cell_type == "code"]
    wanted, names = answer_id(answer), set(defined_names(answer.source))
    for matches in (
        [c for c in code if _grade_id(c) == wanted],
        [c for c in code if c.get("id") == answer.id and not _grade_id(c)],
        [c for c in code if names & set(defined_names(c.source))],
    ):
        if matches:
            return matches
    return []


def graded_notebook(
    solution: nbformat.NotebookNode, submission: nbformat.NotebookNode
) -> tuple[nbformat.NotebookNode, dict[str, list[str]]]:
    """The solution notebook with the learner's answer cells in it, and what the grader noticed
    on the way, per exercise ({exercise name: [sentences for the learner]})."""
    graded = nbformat.from_dict(solution)
    cells = {cell.id: cell for cell in graded.cells}
    notes: dict[str, list[str]] = {}
    for exercise in exercises(solution):
        said = notes.setdefault(exercise.name, [])
        defined: set[str] = set()
        for answer_cell in exercise.answers:
            cell = cells[answer_cell]
            found = _find(cell, submission.cells)
            expected = defined_names(cell.source)
            learners = found[-1] if found else None
            if len(found) > 1:
                said.append(
                    f"Your notebook has {len(found)} cells for {', '.join(expected)} (a copied "
                    "cell?): the last one is graded."
                )
            if learners is None:
                cell.source, cell.outputs = strip_solution(cell.source), []
                said.append(
                    f"The cell that defines {', '.join(expected)} is not in your notebook "
                    "(deleted?): graded from the lesson's empty version, as not done."
                )
                defined.update(expected)
                continue
            cell.source = learners.source
            error = syntax_error(learners.source)
            if error is not None:
                said.append(
                    f"The cell that should define {', '.join(expected)} has a syntax error "
                    f"(line {error.lineno}: {error.msg}), so Python ran none of it."
                )
                defined.update(expected)  # said once: not "missing" as well
            defined.update(defined_names(learners.source))
        missing = [name for name in exercise.functions if name not in defined]
        if missing:
            said.append(
                f"Your answer cells do not define {', '.join(missing)}, which the check calls "
                "by that name: keep the names the exercise gives (renamed?)."
            )
    graded_cells = {a for e in exercises(solution) for a in (*e.answers, e.check)}
    run = needed(graded, graded_cells)
    graded.cells = [c for c in graded.cells if c.cell_type != "code" or c.id in run]
    for cell in graded.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return graded, notes


def own_problem(check: nbformat.NotebookNode, seed: int) -> tuple[str, str] | None:
    """A check cell on a problem drawn from `seed` (its metadata handcalc.variant: `setup` code
    that reads SEED, `replace` pairs each found once in the cell, `problem` in words): (source,
    the problem in words), or None for a check without one."""
    variant = check.metadata.get("handcalc", {}).get("variant")
    if not variant:
        return None
    source = check.source
    for old, new in variant.get("replace", []):
        if source.count(old) != 1:
            raise ValueError(f"check cell {check.id}: {old!r} is not in it exactly once")
        source = source.replace(old, new)
    setup = variant.get("setup", "")
    return f"SEED = {seed}\n{setup}\n{source}", variant["problem"].format(seed=seed)


def add_own_problems(notebook: nbformat.NotebookNode, seed: int) -> dict[str, tuple[str, str]]:
    """After each check cell that has a variant, a cell that runs it on the problem drawn from
    `seed`, in a copy of the notebook's names (the cells after it see none of its own);
    {check cell id: (the variant's source, the problem in words)}."""
    cells, own = [], {}
    for cell in notebook.cells:
        cells.append(cell)
        found = own_problem(cell, seed) if CHECK in cell.metadata.get("tags", []) else None
        if found:
            own[cell.id] = found
            run = f"exec(compile({found[0]!r}, 'check', 'exec'), dict(globals()))"
            cells.append(nbformat.v4.new_code_cell(run, id=cell.id + OWN))
    notebook.cells = cells
    return own
