"""Figures carry alternative text: ``utils.plots.show(alt)`` publishes an ``<img alt=...>``, and the
masters show every figure with it (the inline backend's PNG output never has an alt attribute)."""
import ast
import base64
import re
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest

from utils import plots
from utils.notebooks import run_notebook

ROOT = Path(__file__).resolve().parent.parent
INLINE = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
MASTERS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
MIN_WORDS = 6
# calls that make a new figure; each show() may have at most one of them before it (none: an
# implicit figure from plt.plot & co.), or the figures it does not close get drawn without alt text
NEW_FIGURE = re.compile(r"plt\.subplots\(|plt\.figure\(|image_grid\(|learning_curves\("
                        r"|confusion_matrix_plot\(")


def figure_calls(path: Path):
    """(cell index, the cell's source, its parsed tree) for every code cell of a notebook."""
    nb = nbformat.read(path, as_version=4)
    python = re.compile(r"^\s*[%!].*$", re.MULTILINE)       # IPython magics and shell lines
    return [(i, c.source, ast.parse(python.sub("", c.source))) for i, c in enumerate(nb.cells)
            if c.cell_type == "code"]


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.stem)
def test_every_figure_of_a_master_has_alt_text(path):
    alts, imported = [], False
    for i, source, tree in figure_calls(path):
        assert "plt.show(" not in source, f"cell {i}: plt.show() shows a figure without alt text"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "utils.plots":
                imported |= any(alias.name == "show" for alias in node.names)
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            assert not (isinstance(func, ast.Attribute) and func.attr == "show"), \
                f"cell {i}: {ast.unparse(node)} shows a figure without alt text"
            if isinstance(func, ast.Name) and func.id == "show":
                alt = node.args[0] if node.args else None
                assert isinstance(alt, ast.Constant) and isinstance(alt.value, str), \
                    f"cell {i}: show() needs a literal alt text, got {ast.unparse(node)[:80]}"
                assert len(alt.value.split()) >= MIN_WORDS, \
                    f"cell {i}: alt text {alt.value!r} is too short to say what the figure shows"
                alts.append(alt.value)
        for k, before in enumerate(re.split(r"(?<![.\w])show\(", source)[:-1]):
            assert len(NEW_FIGURE.findall(before)) <= 1, \
                f"cell {i}: two figures before show() number {k + 1}: show each one"
    assert alts, "no figure found: is this master shown with show()?"
    assert imported, "show() is used but not imported from utils.plots"
    repeated = {a for a in alts if alts.count(a) > 1}
    assert not repeated, f"the same alt text for different figures: {repeated}"


@pytest.fixture
def shown(monkeypatch):
    """What ``show`` displays, as if it ran in a Jupyter kernel: a list of (bundle, kwargs)."""
    import IPython.display

    calls = []
    monkeypatch.setattr(plots, "_in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: calls.append((obj, kw)))
    return calls


def line_figure():
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, 1])
    return fig


def test_show_displays_an_img_with_the_escaped_alt(shown):
    fig = line_figure()
    alt = 'A rising line: "loss" <falls> & accuracy rises'
    plots.show(alt)
    (bundle, kwargs), = shown
    assert kwargs == {"raw": True}
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/plain"] == alt
    tag = re.fullmatch(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">',
                       bundle["text/html"])
    assert tag, bundle["text/html"][:80]
    assert base64.b64decode(tag.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
    assert tag.group(2) == "A rising line: &quot;loss&quot; &lt;falls&gt; &amp; accuracy rises"
    assert not plt.fignum_exists(fig.number), "the figure stays open and would be drawn again"


def test_show_takes_a_figure_that_is_not_the_current_one(shown):
    first, current = line_figure(), line_figure()
    plots.show("the first of two figures", fig=first)
    assert len(shown) == 1
    assert not plt.fignum_exists(first.number)
    assert plt.fignum_exists(current.number)
    plt.close(current)


@pytest.mark.parametrize("alt", ["", "   ", None, 3, ["a line"]])
def test_show_refuses_a_missing_alt(shown, alt):
    fig = line_figure()
    with pytest.raises(ValueError, match="alternative text"):
        plots.show(alt)
    assert not shown
    plt.close(fig)


def test_show_outside_a_kernel_is_plt_show(monkeypatch):
    called = []
    monkeypatch.setattr(plt, "show", lambda *a, **kw: called.append(a))
    assert not plots._in_kernel()              # pytest runs no IPython shell
    fig = line_figure()
    plots.show("a line outside a notebook")
    assert called == [()]
    plt.close(fig)


def exported_alts(nb, caplog) -> list[str]:
    """The alt text of every image in nbconvert's HTML export of ``nb``. The exporter fills a
    missing alt with a placeholder and warns, so a missing one shows up as a warning."""
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    caplog.clear()
    with caplog.at_level("WARNING"):
        html = HTMLExporter().from_notebook_node(nb)[0]
    missing = [r.getMessage() for r in caplog.records
               if "Alternative text is missing" in r.getMessage()]
    alts = [img.get("alt") for img in BeautifulSoup(html, "html.parser").select("img")]
    return alts + [f"warning: {m}" for m in missing]


def test_the_export_finds_a_plain_png_output(caplog):
    """Control: the inline backend's kind of output (``image/png``) exports without alt text."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("plt.show()", outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": base64.b64encode(b"\x89PNG\r\n\x1a\n").decode(),
                              "text/plain": "<Figure>"})])]
    assert exported_alts(nb, caplog) == ["No description has been provided for this image",
                                         "warning: Alternative text is missing on 1 image(s)."]


@pytest.mark.notebook
def test_an_executed_notebook_exports_every_figure_with_alt(tmp_path, caplog):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\n"
                                          "from utils.plots import show"),
                nbformat.v4.new_code_cell('plt.plot([0, 1], [0, 2])\nshow("a line")')]
    nb = run_notebook(nb, cwd=tmp_path, env=INLINE, cell_timeout=120)
    outputs = nb.cells[1].outputs
    assert [sorted(o.get("data", {})) for o in outputs] == [["text/html", "text/plain"]], \
        "one output, the <img> only (the inline backend drew the figure a second time?)"
    assert exported_alts(nb, caplog) == ["a line"]
