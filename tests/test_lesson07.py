"""Lesson 07 checks: the reference answers PASS, plausible student mistakes FAIL with a clear message."""
import numpy as np
import pytest
from helpers import assert_judge_agrees, assert_covers_every_question, assert_fails_with

from utils.checks import PASS
from utils.checks import lesson07 as L


# ----------------------------------------------------------------------------- reference answers
def build_standard_cnn():
    return L.reference_standard_cnn()


def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(cm, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    return cm


def feature_maps(model, image, layer_name):
    import keras

    probe = keras.Model(model.inputs, model.get_layer(layer_name).output)
    return probe.predict(image[None], verbose=0)[0]


def to_pm1(x):
    x = np.asarray(x, dtype=np.float32)
    return (x[..., None] if x.ndim == 3 else x) / 127.5 - 1.0


def tiny_cnn(compiled=True, softmax=True, input_shape=(28, 28, 1)):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(input_shape), layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(4),
                              layers.Flatten(), layers.Dense(10, activation="softmax" if softmax else None)])
    if compiled:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def trained():
    """A small CNN trained for 2 epochs on the bundled data (about 80% test accuracy), and its history."""
    from utils.data import load_fashion_mnist, to_float_images

    (x, y), _ = load_fashion_mnist()
    model = tiny_cnn()
    history = model.fit(to_float_images(x), y, epochs=2, batch_size=64, verbose=0)
    return model, history


CORRECT = {
    "q1": {"build_standard_cnn": build_standard_cnn},
    "q2": {"confusion_matrix": confusion_matrix},
    "q3": {"feature_maps": feature_maps},
    "q4": {"to_pm1": to_pm1},
    "q5": {"cifar_reference_model": L.reference_cifar_model},
}


@pytest.mark.parametrize("key", CORRECT)
def test_correct_answers_pass(key):
    result = getattr(L, key).evaluate(namespace={}, **CORRECT[key])
    assert result.status == PASS, result.messages


@pytest.mark.parametrize("key", CORRECT)
def test_judge_gives_the_same_verdict(key):
    assert_judge_agrees(getattr(L, key), CORRECT[key])


def test_judge_agrees_on_the_free_design(trained, monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "1")
    assert_judge_agrees(L.q6, {"model": trained[0], "history": trained[1]})


def test_free_design_passes_in_smoke_mode(trained, monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "1")
    result = L.q6.evaluate(namespace={}, model=trained[0], history=trained[1])
    assert result.status == PASS, result.messages


def test_free_design_passes_above_the_threshold(trained, monkeypatch):
    monkeypatch.delenv("COURSE_SMOKE", raising=False)
    monkeypatch.setattr(L, "ACCURACY_THRESHOLD", 0.7)   # the small trained CNN is above 0.7
    result = L.q6.evaluate(namespace={}, model=trained[0], history=trained[1].history)
    assert result.status == PASS, result.messages


def test_free_design_below_the_threshold_fails(trained, monkeypatch):
    monkeypatch.delenv("COURSE_SMOKE", raising=False)
    assert_fails_with(L.q6, {"model": trained[0], "history": trained[1]}, "the threshold is 85.5%")


# ----------------------------------------------------------------------------- wrong answers
def standard_cnn_variant(kind, key, value):
    """The required model with one setting of every layer of one type changed."""
    import keras

    config = L.reference_standard_cnn().get_config()
    for layer in config["layers"]:
        if layer["class_name"] == kind:
            layer["config"][key] = value
    return keras.Sequential.from_config(config)


def standard_cnn_gap():
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((28, 28, 1))])
    for filters in (32, 64):
        model.add(layers.Conv2D(filters, 3, padding="same", use_bias=False))
        model.add(layers.BatchNormalization(momentum=0.9))
        model.add(layers.ReLU())
        model.add(layers.MaxPooling2D(2))
    for layer in (layers.GlobalAveragePooling2D(), layers.Dense(128, activation="relu"),
                  layers.Dropout(0.3), layers.Dense(10, activation="softmax")):
        model.add(layer)
    return model


def cm_transposed(y_true, y_pred, num_classes):
    return confusion_matrix(y_true, y_pred, num_classes).T


def cm_fancy_index(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    cm[y_true, y_pred] += 1           # repeated pairs are counted once
    return cm


def cm_uint8_bincount(y_true, y_pred, num_classes):
    flat = y_true * num_classes + y_pred      # wraps around for uint8 labels
    return np.bincount(flat, minlength=num_classes ** 2)[: num_classes ** 2].reshape(num_classes, num_classes)


def maps_with_batch_axis(model, image, layer_name):
    import keras

    return keras.Model(model.inputs, model.get_layer(layer_name).output).predict(image[None], verbose=0)


def maps_of_whole_model(model, image, layer_name):
    return np.asarray(model(image[None]))[0]


def pm1_uint8_overflow(x):
    y = x * 2 / 255 - 1                      # x * 2 wraps around in uint8
    return (y[..., None] if y.ndim == 3 else y).astype(np.float32)


def pm1_no_shift(x):
    return to_pm1(x) + 1.0


def pm1_float64(x):
    return to_pm1(x).astype(np.float64)


def pm1_no_channel(x):
    return np.asarray(x, dtype=np.float32) / 127.5 - 1.0


def cifar_variant(valid=False, optimizer=None, loss="sparse_categorical_crossentropy",
                  compile_model=True, metrics=("accuracy",)):
    import keras

    def build(input_shape):
        model = L.reference_cifar_model(input_shape)
        if valid:
            config = model.get_config()
            for layer in config["layers"]:
                layer.pop("build_config", None)
                if layer["class_name"] == "Conv2D":
                    layer["config"]["padding"] = "valid"
            model = keras.Sequential.from_config(config)
        else:
            model = keras.Sequential.from_config(model.get_config())
        if compile_model:
            model.compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), loss=loss,
                          metrics=list(metrics))
        return model
    return build


def _untrained():
    return tiny_cnn()


def _no_softmax():
    return tiny_cnn(softmax=False)


WRONG = {
    "q1": [(lambda: {"build_standard_cnn": lambda: standard_cnn_variant("Conv2D", "use_bias", True)},
            "`use_bias` = True"),
           (lambda: {"build_standard_cnn": lambda: standard_cnn_variant("Dropout", "rate", 0.5)},
            "`rate` = 0.5"),
           (lambda: {"build_standard_cnn": lambda: standard_cnn_variant(
               "BatchNormalization", "momentum", 0.99)}, "`momentum` = 0.99"),
           (lambda: {"build_standard_cnn": standard_cnn_gap}, "GlobalAveragePooling2D")],
    "q2": [(lambda: {"confusion_matrix": cm_transposed}, "rows and columns are swapped"),
           (lambda: {"confusion_matrix": cm_fancy_index}, "300 labels of 10 classes"),
           (lambda: {"confusion_matrix": cm_uint8_bincount}, "uint8 labels of 20 classes")],
    "q3": [(lambda: {"feature_maps": maps_with_batch_axis}, "has shape (1, 10, 8, 4)"),
           (lambda: {"feature_maps": maps_of_whole_model}, "layer 'conv_a'")],
    "q4": [(lambda: {"to_pm1": pm1_uint8_overflow}, "to_pm1(x) for every grey level"),
           (lambda: {"to_pm1": pm1_no_shift}, "is wrong at"),
           (lambda: {"to_pm1": pm1_float64}, "dtype float64"),
           (lambda: {"to_pm1": pm1_no_channel}, "should have shape (1, 16, 16, 1)")],
    "q5": [(lambda: {"cifar_reference_model": cifar_variant(valid=True)}, "`padding` = 'valid'"),
           (lambda: {"cifar_reference_model": cifar_variant(compile_model=False)}, "not compiled"),
           (lambda: {"cifar_reference_model": cifar_variant(optimizer="sgd")}, "compiled with SGD"),
           (lambda: {"cifar_reference_model": cifar_variant(optimizer=__import__("keras").optimizers.Adam(1e-2))},
            "wrong learning rate"),
           (lambda: {"cifar_reference_model": cifar_variant(loss="categorical_crossentropy")},
            "not sparse categorical cross-entropy"),
           (lambda: {"cifar_reference_model": cifar_variant(
               loss=__import__("keras").losses.SparseCategoricalCrossentropy(from_logits=True))},
            "not sparse categorical cross-entropy"),
           (lambda: {"cifar_reference_model": cifar_variant(metrics=())}, "does not track accuracy")],
    "q6": [(lambda: {"model": _untrained(), "history": {"loss": [2.3, 2.2]}}, "the threshold is 85.5%"),
           (lambda: {"model": _no_softmax(), "history": {"loss": [2.3, 2.2]}}, "not probabilities"),
           (lambda: {"model": tiny_cnn(compiled=False), "history": {"loss": [2.3, 2.2]}}, "not compiled"),
           (lambda: {"model": _untrained(), "history": {"loss": [1.0, 1.2]}}, "did not fall"),
           (lambda: {"model": _untrained(), "history": {"loss": [float("nan")]}}, "NaN"),
           (lambda: {"model": tiny_cnn(input_shape=(32, 32, 3)), "history": {"loss": [1.0]}},
            "`model.predict` failed")],
}


@pytest.mark.parametrize("key,factory,text", [(k, f, m) for k, cases in WRONG.items() for f, m in cases])
def test_wrong_answers_fail(key, factory, text, monkeypatch):
    monkeypatch.delenv("COURSE_SMOKE", raising=False)
    assert_fails_with(getattr(L, key), factory(), text)


def test_untrained_model_fails_in_smoke_mode(monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "1")
    assert_fails_with(L.q6, {"model": _untrained(), "history": {"loss": [2.25]}}, "has not learned yet")


def test_every_question_has_a_wrong_answer():
    assert_covers_every_question(L, WRONG)
