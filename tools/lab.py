"""JupyterLab in a real browser, for the browser tests and the benchmark.

`Lab(folder)` serves a folder with JupyterLab on loopback (a free port, a random token, no
browser of its own, no autosave, nothing fetched from the internet). `chromium(playwright)`
starts the system's Chromium headless. `Notebook(page, lab, path)` opens a notebook, runs every
cell as a learner's "Run All" does, and reads the notebook back with its outputs.

    with Lab(folder) as lab, sync_playwright() as playwright:
        browser = chromium(playwright)
        notebook = Notebook(browser.new_page(), lab, "solutions/00_start_here.ipynb")
        notebook.run_all()
        cells = notebook.cells()  # nbformat cells: source, metadata.tags, outputs
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from handcalc.saving import HOOK as SAVE_HOOK

STARTUP = str(Path(__file__).resolve().parent.parent / "handcalc" / "startup.py")

INSTALL_CHROMIUM = "sudo apt-get install chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# JupyterLab user settings: render every cell (no windowing, so a screenshot and the DOM hold
# the whole notebook), never save (the notebooks under test stay as they are), fetch nothing.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
# axe-core: WCAG 2.1 A and AA rules, on the course's content in the open notebook.
CONTENT = [f"{PANEL} .jp-OutputArea-output", f"{PANEL} .jp-MarkdownOutput"]
AXE_CONTEXT = {"include": [[selector] for selector in CONTENT]}
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
# The visible text elements of the course's content (each element with text of its own that has
# a letter or digit, as axe's contrast rule counts them, seen on the page: not in a closed
# <details>, not transparent, not 0 px wide; a widget's live region is read, not seen), and
# those of them not among the elements axe looked at (its selectors).
TEXT_ELEMENTS = """([content, checked]) => {
    const seen = new Set(checked.map(t => document.querySelector(t[t.length - 1])));
    const present = new Set(), missed = [];
    for (const root of document.querySelectorAll(content.join(", "))) {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const el = walker.currentNode.parentElement;
            const text = walker.currentNode.textContent;
            if (!/[\\p{L}\\p{N}]/u.test(text) || present.has(el)) continue;
            if (el.closest("style, script, [aria-hidden=true], .handcalc-said")) continue;
            if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
            const box = el.getBoundingClientRect();
            if (box.width <= 1 || box.height <= 1) continue;  // 0 px labels, clipped words
            present.add(el);
            if (!seen.has(el)) missed.push(`${el.tagName}: ${el.textContent.trim().slice(0, 60)}`);
        }
    }
    return [present.size, missed];
}"""
# Run All, then wait for an empty request sent after it: the kernel answers requests in order,
# so this returns once every cell has run. (Run All's own promise settles at the first error,
# and JupyterLab then clears the [*] marks of the cells still queued.)
RUN_ALL = """async () => {
    const panel = window.jupyterapp.shell.currentWidget;
    await window.jupyterapp.commands.execute('notebook:run-all-cells');
    const kernel = panel.sessionContext.session.kernel;
    await kernel.requestExecute({code: '', silent: true, store_history: false}).done;
}"""
# In the page: note when the input event reaches `target`, and when `watched` last changed from
# how it was before (both on the page's own clock).
WATCH = """([target, watched, event]) => {
    const before = watched.innerHTML;
    window.__inputAt = null;
    window.__changedAt = null;
    target.addEventListener(event, () => { window.__inputAt ??= performance.now(); },
                            {capture: true, once: true});
    window.__observer?.disconnect();
    window.__observer = new MutationObserver(() => {
        if (watched.innerHTML !== before) window.__changedAt = performance.now();
    });
    window.__observer.observe(watched, {subtree: true, childList: true, characterData: true,
                                        attributes: true});
}"""
# Done: the output changed, the kernel is idle again and nothing has changed for a while.
SETTLED = """(quiet) => window.__changedAt !== null
    && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'
    && performance.now() - window.__changedAt > quiet"""


def chromium_path() -> str | None:
    """The system Chromium, or None if it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(playwright):
    """Headless system Chromium (Playwright cannot download its own browser here)."""
    path = chromium_path()
    if path is None:
        raise RuntimeError(f"Chromium is not installed: {INSTALL_CHROMIUM}")
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Lab:
    """A JupyterLab server on 127.0.0.1 serving `root`, for as long as the `with` block lasts."""

    def __init__(self, root: Path, start_timeout: float = 120, disabled: tuple[str, ...] = ()):
        """disabled: JupyterLab extensions to turn off (as if they were not installed)."""
        self.root = Path(root)
        self.disabled = disabled
        self.start_timeout = start_timeout
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Lab:
        self._settings = tempfile.TemporaryDirectory(prefix="lab-settings-")
        for plugin, values in SETTINGS.items():
            path = Path(self._settings.name, *plugin.split("/")[:-1])
            path.mkdir(parents=True, exist_ok=True)
            name = plugin.split("/")[-1] + ".jupyterlab-settings"
            (path / name).write_text(json.dumps(values))
        env = {**os.environ, "PYTHONSTARTUP": STARTUP}  # as `python course.py lab` sets it
        if self.disabled:
            labconfig = Path(self._settings.name, "config", "labconfig")
            labconfig.mkdir(parents=True)
            off = {"disabledExtensions": dict.fromkeys(self.disabled, True)}
            (labconfig / "page_config.json").write_text(json.dumps(off))
            env["JUPYTER_CONFIG_PATH"] = str(labconfig.parent)
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
                "--ip=127.0.0.1", f"--port={self.port}", "--port-retries=0",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root}",
                "--LabApp.expose_app_in_browser=True",
                f"--LabApp.user_settings_dir={self._settings.name}",
                f"--LabApp.workspaces_dir={self._settings.name}",
                f"--ContentsManager.pre_save_hook={SAVE_HOOK}",
            ],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.root, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._fail("JupyterLab exited at start")
            try:
                self.api("status")
                return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.25)
        self._fail(f"JupyterLab did not answer in {self.start_timeout:.0f} s")

    def _fail(self, what: str) -> None:
        log = self.log()
        self.__exit__()
        raise RuntimeError(f"{what}:\n{log}")

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        self._settings.cleanup()

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def api(self, path: str, method: str = "GET"):
        """Call the server's REST API (`/api/<path>`) and return the decoded JSON, if any."""
        request = urllib.request.Request(
            f"{self.base}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def url(self, path: str) -> str:
        return f"{self.base}/lab/tree/{path}?reset&token={self.token}"


class Notebook:
    """One notebook open in JupyterLab in `page`. If the page already shows this JupyterLab,
    the notebook opens there (as a learner opens the next lesson) instead of reloading it."""

    def __init__(self, page, lab: Lab, path: str, timeout: float = 300) -> None:
        self.page, self.path, self.timeout_ms = page, path, timeout * 1000
        if page.url.startswith(lab.base) and page.evaluate("() => !!window.jupyterapp"):
            page.evaluate(
                "async (path) => { await window.jupyterapp.commands.execute("
                "'docmanager:open', {path}); }",
                path,
            )
        else:
            page.goto(lab.url(path))
        page.wait_for_function(
            """(path) => {
                const panel = window.jupyterapp?.shell.currentWidget;
                const kernel = panel?.sessionContext?.session?.kernel;
                return panel?.context?.path === path && panel.content.model
                    && kernel?.status === 'idle';
            }""",
            arg=path,
            timeout=self.timeout_ms,
        )
        self.panel = page.locator(PANEL)

    def save(self) -> None:
        """Save the notebook, as Ctrl+S does."""
        self.page.evaluate(
            "async () => { await window.jupyterapp.commands.execute('docmanager:save'); }"
        )

    def close(self) -> None:
        """Close the notebook's tab without asking to save (the kernel keeps running)."""
        self.page.evaluate("() => window.jupyterapp.shell.currentWidget.dispose()")

    def run_all(self) -> float:
        """Run All (as the Run menu does), wait until the kernel is idle and every output is
        drawn; returns the seconds it took."""
        start = time.perf_counter()
        self.page.evaluate(RUN_ALL)
        self.wait_idle()
        return time.perf_counter() - start

    def run_cell(self, index: int) -> None:
        """Select cell `index` (from 0) and run it alone, as Shift+Enter does; wait until idle."""
        self.page.evaluate(
            """async (index) => {
                const panel = window.jupyterapp.shell.currentWidget;
                panel.content.activeCellIndex = index;
                await window.jupyterapp.commands.execute('notebook:run-cell');
            }""",
            index,
        )
        self.wait_idle()

    def restart_kernel(self) -> None:
        """Restart the kernel (what Kernel → Restart does once confirmed); wait until idle."""
        self.page.evaluate(
            "async () => { await window.jupyterapp.shell.currentWidget.sessionContext"
            ".session.kernel.restart(); }"
        )
        self.wait_idle()

    def wait_idle(self) -> None:
        self.page.wait_for_function(
            f"""() => {{
                const panel = window.jupyterapp.shell.currentWidget;
                const prompts = [...document.querySelectorAll('{PANEL} .jp-InputArea-prompt')];
                return panel.sessionContext.session.kernel.status === 'idle'
                    && !prompts.some(p => p.textContent.includes('*'));
            }}""",
            timeout=self.timeout_ms,
        )
        self.page.wait_for_timeout(300)  # let widget views finish drawing

    def cells(self) -> list[dict]:
        """The notebook as JupyterLab holds it now (nbformat JSON: source, metadata, outputs)."""
        notebook = self.page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.model.toJSON()"
        )
        for cell in notebook["cells"]:
            if isinstance(cell["source"], list):
                cell["source"] = "".join(cell["source"])
        return notebook["cells"]

    def run_code(self, code: str) -> str:
        """Run code in the notebook's kernel, outside any cell; returns what it printed."""
        return self.page.evaluate(
            """async (code) => {
                const panel = window.jupyterapp.shell.currentWidget;
                const future = panel.sessionContext.session.kernel.requestExecute(
                    {code, store_history: false});
                let printed = '';
                future.onIOPub = (msg) => {
                    if (msg.header.msg_type === 'stream') printed += msg.content.text;
                };
                await future.done;
                return printed;
            }""",
            code,
        )

    def screenshot(self, path: Path, width: int = 1280, max_height: int = 16000) -> None:
        """The whole notebook, top to bottom, in one PNG: the file browser is closed and the
        window made as tall as the notebook (at most max_height pixels)."""
        self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        self.page.wait_for_timeout(300)  # the notebook widens, and its cells reflow
        scroller = f"document.querySelector('{PANEL} .jp-WindowedPanel-outer')"
        height = self.page.evaluate(  # to the last cell's bottom, without the space after it
            f"""() => {{
                const cells = document.querySelectorAll('{PANEL} .jp-Cell');
                const last = cells[cells.length - 1].getBoundingClientRect();
                return last.bottom + {scroller}.scrollTop;
            }}"""
        )
        before = self.page.viewport_size
        self.page.set_viewport_size({"width": width, "height": min(round(height) + 60, max_height)})
        self.page.evaluate(f"() => {{ {scroller}.scrollTop = 0; }}")
        self.page.wait_for_timeout(500)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        self.page.set_viewport_size(before)

    # Widgets. Each interaction acts as a learner does (a real click or key press), waits until
    # the output it should change has changed, and returns what was shown before and after.

    def widget_outputs(self):
        """Every widget view's output area in the notebook."""
        return self.panel.locator(".jp-OutputArea-output:has(.jupyter-widgets)")

    def _act(self, target, watched, event: str, act, shown=None, quiet: float = 300) -> Change:
        """Do act() (which sends `event` to target) and wait until watched has changed and
        settled (kernel idle, no change for `quiet` ms); shown (default watched) is the part
        whose text is returned. The seconds are from the input to the last change."""
        shown = shown or watched
        before = shown.inner_text()
        self.page.evaluate(WATCH, [target.element_handle(), watched.element_handle(), event])
        act()
        try:
            self.page.wait_for_function(SETTLED, arg=quiet, timeout=30_000, polling=50)
        except PlaywrightTimeout:
            message = f"nothing changed in 30 s after the {event}; it showed:\n{before}"
            raise AssertionError(message) from None
        seconds = self.page.evaluate("() => (window.__changedAt - window.__inputAt) / 1000")
        return Change(before, shown.inner_text(), seconds)

    def click_next(self, name: str = "Next") -> Change:
        """Click the first trace viewer's Next (or Back); returns its step counter."""
        viewer = self.widget_outputs().filter(has_text="Step ").first
        button = viewer.locator("button", has_text=name)
        return self._act(button, viewer.locator(".widget-hbox").first, "click", button.click)

    def fill_grid(self, texts: list[str]) -> Change:
        """Type texts into the first answer grid's cells, row by row, then press Check; returns
        the grid and the message under it."""
        entry = self.grid_output()
        cells = entry.locator(".widget-gridbox input")
        for index, text in enumerate(texts):
            cells.nth(index).fill(text)
        button = entry.locator("button", has_text="Check")
        return self._act(button, entry, "click", button.click)

    def grid_output(self):
        """The first answer grid's output area."""
        return self.widget_outputs().filter(has=self.page.locator(".widget-gridbox")).first

    def click_hint(self) -> Change:
        """Press the first answer grid's Hint button; returns the grid's text."""
        entry = self.grid_output()
        button = entry.locator("button", has_text="Hint")
        return self._act(button, entry, "click", button.click)

    def work_out(self, option: int = 1) -> Change:
        """Choose wrong entry number `option` in the first grid's Work out menu (after a check)
        with the keyboard, as a learner does: focus the menu, press ↓ `option` times; returns
        the grid's text with that entry worked out."""
        entry = self.grid_output()
        choice = entry.locator(".widget-dropdown select")

        def press() -> None:
            choice.focus()
            for _ in range(option):
                self.page.keyboard.press("ArrowDown")

        return self._act(choice, entry, "keydown", press)

    def said(self, output=None) -> str:
        """What a widget's live region (role=status) holds now: what a screen reader last read
        out (output: the widget's output area; default the first answer grid's)."""
        region = (output or self.grid_output()).locator(".handcalc-said[role=status]")
        return region.text_content().strip()

    def accessibility_tree(self) -> list[tuple[str, str]]:
        """(role, name) of every node Chromium's accessibility tree exposes on the page: what a
        screen reader can meet."""
        cdp = self.page.context.new_cdp_session(self.page)
        try:
            nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
        finally:
            cdp.detach()
        return [
            (node.get("role", {}).get("value", ""), str(node.get("name", {}).get("value", "")))
            for node in nodes
            if not node.get("ignored")
        ]

    def focused(self) -> dict:
        """The focused element: its tag, text, outline width (px) and colour, and whether the
        notebook is still in command mode on the same cell (JupyterLab did not take the key)."""
        return self.page.evaluate(
            """() => {
                const el = document.activeElement, style = getComputedStyle(el);
                return {tag: el.tagName, text: el.textContent.trim().slice(0, 40),
                        outline: parseFloat(style.outlineWidth) || 0,
                        colour: style.outlineColor, offset: parseFloat(style.outlineOffset) || 0,
                        inWidget: !!el.closest('.handcalc-widget')};
            }"""
        )

    def errors_shown(self) -> list[str]:
        """Every error or warning text the notebook shows (a cell's or a widget's)."""
        shown = self.panel.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
        return [text[-300:] for text in shown.all_inner_texts()]

    def grid_size(self) -> int:
        return self.grid_output().locator(".widget-gridbox input").count()

    def accessibility_audit(self, slice_height: int = 12000) -> Audit:
        """axe-core's WCAG 2.1 A and AA audit of the course's own content (outputs and text
        cells, not JupyterLab's chrome), over the whole notebook: the window is made as tall as
        the notebook's scroller (in slices of at most slice_height pixels, scrolled through from
        the top), since axe only checks what is on screen and JupyterLab's body is 0 px tall and
        clips. Also counts the visible text elements of that content, and which of them axe's
        contrast rule checked, so an audit that missed part of the notebook says so."""
        from axe_playwright_python.sync_playwright import Axe

        self.page.mouse.move(0, 0)  # no hover state (a heading's ¶ link) left from the widgets
        size = self.page.viewport_size
        scroller = f"document.querySelector('{PANEL} .jp-WindowedPanel-outer')"
        total = self.page.evaluate(f"() => {scroller}.scrollHeight")
        height = min(total, slice_height)
        self.page.set_viewport_size({"width": size["width"], "height": height + 200})
        self.page.evaluate("() => { document.body.style.height = window.innerHeight + 'px'; }")
        violations, checked, undecided = {}, set(), set()
        try:
            for top in range(0, total, height):
                self.page.evaluate(f"() => {{ {scroller}.scrollTop = {top}; }}")
                self.page.wait_for_timeout(200)
                found = Axe().run(self.page, context=AXE_CONTEXT, options=AXE_OPTIONS).response
                for v in found["violations"]:
                    for node in v["nodes"]:
                        summary = node["failureSummary"].splitlines()[-1].strip()
                        violations[f"{v['id']}: {node['target']} ({summary})"] = None
                for kind, into in (("passes", checked), ("violations", checked),
                                   ("incomplete", undecided)):  # fmt: skip
                    for rule in found[kind]:
                        if rule["id"] == "color-contrast":
                            into.update(tuple(node["target"]) for node in rule["nodes"])
            present, missed = self.page.evaluate(
                TEXT_ELEMENTS, [CONTENT, sorted(checked | undecided)]
            )
        finally:
            self.page.evaluate(
                f"() => {{ document.body.style.height = ''; {scroller}.scrollTop = 0; }}"
            )
            self.page.set_viewport_size(size)
        return Audit(list(violations), present, missed)

    def choose(self, key: str = "ArrowDown") -> Change:
        """Step the first gallery's menu with the keyboard (ArrowDown: the next page); waits for
        what it shows to be redrawn and returns the gallery's text (menu and caption)."""
        output = self.widget_outputs().filter(has=self.page.locator(".handcalc-gallery")).first
        menu = output.locator(".handcalc-gallery select").first
        menu.focus()

        return self._act(menu, output, "keydown", lambda: self.page.keyboard.press(key))

    def chosen(self) -> str:
        """What the first gallery's menu shows."""
        output = self.widget_outputs().filter(has=self.page.locator(".handcalc-gallery")).first
        menu = output.locator(".handcalc-gallery select").first
        return menu.evaluate("el => el.options[el.selectedIndex].text")


@dataclass
class Audit:
    """axe-core's audit of a notebook: its violations (one line per element), how many visible
    text elements the content has, and those that axe's contrast rule did not look at (it
    looks at each, and decides, or leaves it undecided where it cannot tell: text over a
    picture)."""

    violations: list[str]
    present: int
    missed: list[str]

    @property
    def checked(self) -> int:
        return self.present - len(self.missed)


@dataclass
class Change:
    """What a widget showed before and after an interaction, and the seconds in between (from
    the input event reaching the page to the changed output in the page)."""

    before: str
    after: str
    seconds: float
