"""Objects a check keeps with the judge, helpers run in the kernel, and what crosses with them."""
from pathlib import Path

import keras
import numpy as np
import pytest

from utils.checks.core import WRITABLE, Fail, judge_side, kernel_side
from utils.checks.core import Tester as CheckTester
from utils.data import DatasetUnavailable
from utils.grading import codec
from utils.grading.remote import AgentLost, Link, LoopbackTransport, Namespace


class Recorder:
    def __init__(self):
        self.calls = []
        self.secret = "kept in the judge"

    def fit(self, x, **kwargs):
        self.calls.append((x, kwargs))
        return float(np.sum(x))

    def load(self):
        raise DatasetUnavailable("not on this machine")


def judge(student_code: dict):
    """A link to an agent holding ``student_code``, and a Tester that talks through it."""
    link = Link(LoopbackTransport(dict(student_code)))
    names = list(student_code)
    return link, Namespace(link, link.describe(names))


def test_a_judge_side_object_records_what_the_kernel_does_with_it():
    def student(model):
        return model.fit(np.ones(3), epochs=2), model

    link, ns = judge({"student": student})
    rec = judge_side(Recorder(), methods=("fit",))
    total, back = CheckTester(link=link).call(ns["student"], rec)
    assert total == 3.0 and back is rec                     # the same object came back
    assert len(rec.calls) == 1 and rec.calls[0][1] == {"epochs": 2}
    np.testing.assert_array_equal(rec.calls[0][0], np.ones(3))


def test_unlisted_members_of_a_judge_side_object_are_refused_in_the_kernel():
    def reads_secret(model):
        return model.secret

    def calls_unlisted(model):
        return model.load()

    link, ns = judge({"reads_secret": reads_secret, "calls_unlisted": calls_unlisted})
    rec = judge_side(Recorder(), methods=("fit",))
    t = CheckTester(link=link)
    with pytest.raises(Fail, match="AttributeError"):
        t.call(ns["reads_secret"], rec)
    with pytest.raises(Fail, match="AttributeError"):
        t.call(ns["calls_unlisted"], rec)
    assert rec.calls == []


def test_a_course_exception_raised_by_a_judge_function_is_that_exception_in_the_kernel():
    def student(load):
        try:
            load()
        except DatasetUnavailable as exc:
            return f"caught: {exc}"
        return "not caught"

    link, ns = judge({"student": student})
    assert CheckTester(link=link).call(ns["student"], Recorder().load) == "caught: not on this machine"


@kernel_side
def _double_in_kernel(fn, x):
    return fn(x) * 2


def test_kernel_side_helpers_run_next_to_the_student_code_and_others_are_refused():
    from utils.checks.lesson11 import sgd_path

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)
    link, ns = judge({"schedule": schedule})
    t = CheckTester(link=link)
    kind, path = t.collect(sgd_path, ns["schedule"], steps=4)
    assert kind == "path"
    np.testing.assert_allclose(path, sgd_path(schedule, steps=4)[1])
    # only helpers of the lesson modules marked kernel_side are run in the kernel
    with pytest.raises(AgentLost, match="not a check helper"):
        t.collect(_double_in_kernel, lambda x: x, 3)
    # in the notebook the same call runs here
    assert CheckTester().collect(_double_in_kernel, lambda x: x + 1, 3) == 8


def test_a_checkpoint_may_only_be_written_inside_the_folder_the_check_handed_out(tmp_path):
    inside = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), save_best_only=True)
    data = codec.Encoder(lambda v: 1, "handle")(inside)
    assert data["$"] == "kcallback"
    with pytest.raises(codec.Undecodable, match="outside"):
        codec.Decoder()(data)                                # no folder handed out
    token = WRITABLE.set(tmp_path)
    try:
        rebuilt = codec.Decoder()(data)
        assert rebuilt.filepath == str(tmp_path / "best.keras") and rebuilt.save_best_only
        outside = codec.Encoder(lambda v: 1, "handle")(
            keras.callbacks.ModelCheckpoint(str(tmp_path / ".." / "elsewhere.keras")))
        with pytest.raises(codec.Undecodable, match="outside"):
            codec.Decoder()(outside)
    finally:
        WRITABLE.reset(token)
    stop = codec.Decoder()(codec.Encoder(lambda v: 1, "handle")(
        keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)))
    assert isinstance(stop, keras.callbacks.EarlyStopping) and stop.patience == 3
    with pytest.raises(codec.Undecodable):
        codec.Decoder()({"$": "kcallback", "class": "LambdaCallback", "args": {}})


def test_paths_cross_as_paths():
    data = codec.Encoder(lambda v: 1, "handle")(Path("a") / "b.keras")
    assert codec.Decoder()(data) == Path("a/b.keras")
