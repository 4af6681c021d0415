"""The README's quick-start commands are exactly the ones CI runs."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL, TEST = "python -m pip install -r requirements.txt", "pytest"


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"\n{INSTALL}\n" in readme and f"\n{TEST}\n" in readme
    assert f"\n{INSTALL}\n" in ci and f"\n{TEST}\n" in ci
    assert "python3 -m venv" in ci


def test_every_lesson_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "lessons").glob("*.ipynb")):
        assert f"lessons/{path.name}" in readme, f"{path.name} missing from the README lesson table"
