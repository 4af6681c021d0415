"""``--model-only``: the capstone graded from the files handed in beside the notebook.

Nothing of the submission runs: the saved model is vetted and loaded in safe mode, uncompiled
(so a model compiled with the student's own schedule class loads), and scored by the judge; the
report and the ablation are read as JSON; the written report is read from the notebook's JSON and
copied into the feedback file.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from utils.checks import lesson18
from utils.data import load_fashion_mnist, to_float_images
from utils.grading.cli import main as grade_main
from utils.grading.written import PLACEHOLDER

ROOT = Path(__file__).resolve().parent.parent


@keras.saving.register_keras_serializable(package="student")
class MyWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """A student's own schedule class: the judge does not know it."""

    def __init__(self, peak=1e-3):
        self.peak = peak

    def __call__(self, step):
        return self.peak * keras.ops.minimum(1.0, (keras.ops.cast(step, "float32") + 1) / 10)

    def get_config(self):
        return {"peak": self.peak}


def _trained(lambda_layer: bool = False):
    keras.utils.set_random_seed(1)
    (x, y), _ = load_fashion_mnist()
    stack = [keras.Input((28, 28, 1)), layers.Flatten()]
    if lambda_layer:
        stack.append(layers.Lambda(lambda t: t * 1.0))
    model = keras.Sequential(stack + [layers.Dense(64, activation="relu"),
                                      layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.AdamW(MyWarmup()),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(to_float_images(x[:3000]), y[:3000], epochs=1, batch_size=128, verbose=0)
    return model


DESIGN = {"augment": True, "epochs": 12, "batch_size": 128, "peak_lr": 3e-3,
          "schedule": "warmup-cosine", "warmup": 0.1, "label_smoothing": 0.1, "weight_decay": 1e-4}
VARIANTS = {"mine": DESIGN, "no smoothing": {**DESIGN, "label_smoothing": 0.0},
            "constant rate": {**DESIGN, "schedule": "constant"}}
RUNS = [{"variant": name, "seed": seed, "val_accuracy": 0.8 + 0.01 * i + 0.003 * seed}
        for i, name in enumerate(VARIANTS) for seed in (0, 1, 2)]
WROTE = "I wrote about this part, " + "and more " * 14 + "words."   # 33 words a heading
TABLE = {name: (0.8 + 0.01 * i + 0.003, 0.003 / 3 ** 0.5) for i, name in enumerate(VARIANTS)}


def _hand_in(folder: Path, model, report_changes=None, written=True) -> Path:
    folder.mkdir(parents=True)
    notebook = folder / "18_capstone.ipynb"
    text = (ROOT / "lessons" / "18_capstone.ipynb").read_text(encoding="utf-8")
    if written:   # the student wrote something under each heading
        text = text.replace(json.dumps(PLACEHOLDER)[1:-1], WROTE)
    notebook.write_text(text, encoding="utf-8")
    runs = folder / "course_runs"
    runs.mkdir()
    if model is not None:
        path = runs / "capstone.keras"
        model.save(path)
        kind, _, x, y = lesson18._held_out(model.input_shape, False)
        accuracy = float(np.mean(model.predict(x, verbose=0).argmax(1) == y))
        report = {"source": "fashion-small", "params": int(model.count_params()),
                  "multiply_adds": lesson18.multiply_adds(model), "epochs": 1,
                  "val_accuracy": 0.8, "test_accuracy": accuracy, "train_seconds": 3.0}
        report.update(report_changes or {})
        (runs / "capstone.report.json").write_text(json.dumps(report), encoding="utf-8")
        ablation = {"variants": VARIANTS, "runs": RUNS, "table": TABLE}
        (runs / "capstone.ablation.json").write_text(json.dumps(ablation), encoding="utf-8")
    return notebook


@pytest.fixture(scope="module")
def good():
    return _trained()


@pytest.mark.notebook
def test_capstones_are_graded_from_their_files(tmp_path, good):
    subs = tmp_path / "class"
    _hand_in(subs / "alice", good)
    _hand_in(subs / "bob", _trained(lambda_layer=True))
    _hand_in(subs / "carol", None, written=False)
    _hand_in(subs / "dave", good, {"test_accuracy": 0.99})
    before = {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}
    out = tmp_path / "grades.csv"
    assert grade_main([str(subs), "--lesson", "18", "--out", str(out), "--smoke",
                       "--workers", "2"]) == 0
    rows = {r["student"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()} == before
    alice = rows["alice"]
    assert (alice["q4"], alice["q5"], alice["q7"]) == ("1", "1", "1"), alice["note"]
    assert alice["q1"] == "" and "not graded in this mode: q1, q2, q3, q6" in alice["note"]
    assert alice["max"] == "3" and alice["total"] == "3"
    assert "written report" not in alice["note"]
    feedback = (tmp_path / "grades_feedback" / "alice.md").read_text(encoding="utf-8")
    assert "## Written report" in feedback and "### Next step" in feedback
    assert feedback.count(WROTE) == 5
    assert rows["bob"]["q5"] == "0"
    assert "Lambda" in (tmp_path / "grades_feedback" / "bob.md").read_text(encoding="utf-8")
    assert rows["carol"]["status"] == "missing" and rows["carol"]["q5"] == "0"
    assert ("written report: nothing under Question, Design, Results, What did not work, "
            "Next step") in rows["carol"]["note"]
    assert rows["dave"]["q5"] == "1" and float(rows["dave"]["q7"]) < 1


@pytest.mark.notebook
def test_resume_keeps_the_rows_already_graded(tmp_path, good):
    subs = tmp_path / "class"
    _hand_in(subs / "alice", good)
    out = tmp_path / "grades.csv"
    assert grade_main([str(subs), "--lesson", "18", "--out", str(out), "--smoke"]) == 0
    text = out.read_text(encoding="utf-8")
    out.write_text(text.replace("graded from the files", "KEPT graded from the files"),
                   encoding="utf-8")
    _hand_in(subs / "bob", good)
    assert grade_main([str(subs), "--lesson", "18", "--out", str(out), "--smoke",
                       "--resume"]) == 0
    rows = {r["student"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert sorted(rows) == ["alice", "bob"]
    assert rows["alice"]["note"].startswith("KEPT")          # not graded again
    assert rows["bob"]["q5"] == "1" and not rows["bob"]["note"].startswith("KEPT")
