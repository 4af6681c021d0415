"""No master notebook uses its test split for validation or for a choice.

The course's rule of honest evaluation: every curve and every choice is made on a validation
split; the test split is used once, at the end, for the model that was chosen. This test reads the
code cells of every master in ``solutions/`` (comments left out) and fails on the usual ways of
breaking the rule:

- the test arrays passed to Keras as ``validation_data`` (so that every epoch's "validation"
  curve, and any early stopping or checkpoint on it, is really on the test set);
- a hand-written training loop that fills its ``val_*`` history from the test arrays;
- a choice made with test scores: ``max(test_accs, key=test_accs.get)``, ``np.argmax(test_...)``,
  ``sorted(test_...)``, ``key=test_...``, a monitor or objective named after the test set.

A test array is any name the notebooks use for test data: ``x_test``, ``X_test_std``,
``test_images``, ``x_ml_test``, ``x_all_test``, ``test_ds``, ``x_te``, ``cifar_xt``, ... (grep
``solutions/`` for ``test``).
"""
from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MASTERS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))

# Lessons that still break the rule, each with the reason; every entry is a defect to remove.
KNOWN: dict[str, str] = {}

# A name that holds test data: contains "test" (x_test, X_test_std, test_images, x_ml_test,
# x_all_test, test_ds, ref_test), or ends in _te / xt / yt (x_te, cifar_xt, cifar_yt).
TEST_NAME = r"(?:\w*[Tt][Ee][Ss][Tt]\w*|\w*_te|\w*[xy]t)\b"
# (reason, pattern, whether the pattern reads string literals): string literals are blanked out
# for most patterns, so that a message quoting a bad line does not count as one.
PATTERNS = {
    "the test split is passed as validation_data":
        re.compile(rf"validation_data\s*=\s*[(\[]?\s*(?:\*\s*)?{TEST_NAME}"),
    "a choice is made with test scores":
        re.compile(r"\b(?:max|min|argmax|argmin|nanargmax|nanargmin|sorted)\(\s*"
                   r"(?:\w+\.)*(?:test\w*|\w*_test\w*)\b(?!\.shape)"),
    "a choice is keyed on test scores":
        re.compile(r"\bkey\s*=\s*(?:lambda[^:]*:[^,)\n]*?)?\b\w*test\w*"),
}
# These read string literals (a metric name, a message): reason -> pattern.
STRING_PATTERNS = {
    "a validation curve is filled from the test split":
        re.compile(rf"""\[\s*["']val_\w+["']\s*\]\s*\.append\([^\n]*\b{TEST_NAME}"""),
    "a callback or search monitors the test split":
        re.compile(r"""\b(?:monitor|objective)\s*=\s*[^,)\n]*["']test_\w+["']"""),
    "an accuracy threshold is to be reached on the test set":
        re.compile(r"(?i)threshold[^\n]*\btest[ _](?:accuracy|set|images)"),
}


def without_comments(source: str, strings: bool = True) -> str:
    """The code without its comments (a comment may quote a bad line to warn against it), and
    with every string literal emptied unless ``strings``."""
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    cuts = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT or (token.type == tokenize.STRING and not strings):
                (r0, c0), (r1, c1) = token.start, token.end
                keep = '""' if token.type == tokenize.STRING else ""
                cuts.append((offsets[r0 - 1] + c0, offsets[r1 - 1] + c1, keep))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return "\n".join(line.split("#", 1)[0] for line in source.splitlines())
    for start, end, keep in reversed(cuts):
        source = source[:start] + keep + source[end:]
    return source


def violations(code: str) -> list[str]:
    """``reason: line`` for every line of the code that uses the test split dishonestly."""
    found = []
    for patterns, text in ((PATTERNS, without_comments(code, strings=False)),
                           (STRING_PATTERNS, without_comments(code))):
        found += _matches(patterns, text)
    return found


def _matches(patterns, code):
    found = []
    for reason, pattern in patterns.items():
        for match in pattern.finditer(code):
            start = code.rfind("\n", 0, match.start()) + 1
            end = code.find("\n", match.end())
            found.append(f"{reason}: {code[start:end if end >= 0 else None].strip()}")
    return found


def notebook_violations(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            found += [f"cell {index}: {v}" for v in violations("".join(cell["source"]))]
    return found


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.stem)
def test_the_test_split_is_not_used_for_validation_or_choices(path):
    found = notebook_violations(path)
    if path.name[:2] in KNOWN:
        if not found:
            pytest.fail(f"lesson {path.name[:2]} is honest now: remove it from KNOWN")
        pytest.xfail(KNOWN[path.name[:2]])
    assert not found, "\n".join(found)


BAD = [
    "model.fit(x_train, y_train, epochs=5, validation_data=(x_test, y_test))",
    "history = model.fit(X, y, validation_data=(X_test, y_test), verbose=0)",
    "model.fit(x, y, validation_data=[x_test_std, y_test])",
    "model.fit(train_ds, validation_data=test_ds, epochs=3)",
    "model.fit(x, y, validation_data=(x_te, y_te))",
    "model.fit(*ref_train, validation_data=ref_test)",
    "model.fit(x, y, validation_data=(cifar_xt, cifar_yt))",
    "tuner.search(x, y, epochs=2, validation_data=(x_test, y_test))",
    'history["val_accuracy"].append(np.mean(scores(X_test, W, b).argmax(axis=1) == y_test))',
    "best = max(test_accs, key=test_accs.get)",
    "best = np.argmax(test_accuracy)",
    "ranked = sorted(test_scores.items())",
    "best = max(results, key=lambda name: results[name].test_acc)",
    'stop = keras.callbacks.EarlyStopping(monitor="test_loss")',
    'print(f"threshold: {ACCURACY_THRESHOLD:.1%} test accuracy")',
]
GOOD = [
    "model.fit(x_train, y_train, validation_data=(x_val, y_val), verbose=0)",
    "model.fit(x, y, validation_split=0.1)",
    "test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)",
    'utils.report("test accuracy", model.evaluate(x_test, y_test, verbose=0)[1])',
    "best = max(val_accs, key=val_accs.get)",
    "chosen = max(runs, key=lambda a: runs[a].mean)",
    "predicted = model.predict(x_test).argmax(axis=1)",
    "print(x_test.max(), max(x_test.shape))",
    "# never write validation_data=(x_test, y_test): that tunes on the test set",
    'print("validation_data=(x_test, y_test) would tune on the test set")',
    'history["val_loss"].append(loss(x_val, y_val))',
]


@pytest.mark.parametrize("line", BAD)
def test_a_planted_bad_line_is_caught(line):
    assert violations(line), line


@pytest.mark.parametrize("line", GOOD)
def test_an_honest_line_passes(line):
    assert not violations(line), violations(line)


def test_a_planted_bad_cell_fails_the_notebook(tmp_path):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": ["history = model.fit(x_train, y_train, epochs=3,\n",
                       "                    validation_data=(x_test, y_test))\n"]}
    path = tmp_path / "99_planted.ipynb"
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}), encoding="utf-8")
    assert notebook_violations(path) == [
        "cell 0: the test split is passed as validation_data: validation_data=(x_test, y_test))"]
