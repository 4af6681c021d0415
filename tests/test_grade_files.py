"""``--model-only``: the capstone graded from the files handed in beside the notebook.

Nothing of the submission runs: the saved model is vetted and loaded in safe mode, uncompiled
(so a model compiled with the student's own schedule class loads), and scored by the judge; the
report is read as JSON.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from utils.checks import lesson18
from utils.data import load_fashion_mnist, to_float_images
from utils.grading.cli import main as grade_main

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


def _hand_in(folder: Path, model, report_changes=None) -> Path:
    folder.mkdir(parents=True)
    notebook = folder / "18_capstone.ipynb"
    shutil.copyfile(ROOT / "lessons" / "18_capstone.ipynb", notebook)
    runs = folder / "course_runs"
    runs.mkdir()
    if model is not None:
        path = runs / "capstone.keras"
        model.save(path)
        kind, _, x, y = lesson18._held_out(model.input_shape, False)
        accuracy = float(np.mean(model.predict(x, verbose=0).argmax(1) == y))
        report = {"source": "fashion-small", "params": int(model.count_params()), "epochs": 1,
                  "val_accuracy": 0.8, "test_accuracy": accuracy, "train_seconds": 3.0}
        report.update(report_changes or {})
        (runs / "capstone_report.json").write_text(json.dumps(report), encoding="utf-8")
    return notebook


@pytest.fixture(scope="module")
def good():
    return _trained()


@pytest.mark.notebook
def test_capstones_are_graded_from_their_files(tmp_path, good):
    subs = tmp_path / "class"
    _hand_in(subs / "alice", good)
    _hand_in(subs / "bob", _trained(lambda_layer=True))
    _hand_in(subs / "carol", None)
    _hand_in(subs / "dave", good, {"test_accuracy": 0.99})
    before = {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}
    out = tmp_path / "grades.csv"
    assert grade_main([str(subs), "--lesson", "18", "--out", str(out), "--smoke",
                       "--workers", "2"]) == 0
    rows = {r["student"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()} == before
    assert (rows["alice"]["q5"], rows["alice"]["q6"]) == ("1", "1"), rows["alice"]["note"]
    assert rows["alice"]["q1"] == "" and "not graded in this mode: q1" in rows["alice"]["note"]
    assert rows["alice"]["max"] == "2" and rows["alice"]["total"] == "2"
    assert rows["bob"]["q5"] == "0"
    assert "Lambda" in (tmp_path / "grades_feedback" / "bob.md").read_text(encoding="utf-8")
    assert rows["carol"]["status"] == "missing" and rows["carol"]["q5"] == "0"
    assert rows["dave"]["q5"] == "1" and float(rows["dave"]["q6"]) < 1


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
