"""Lesson 07 checks: correct answers PASS, plausible student mistakes FAIL with a clear message."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import answer_tests, assert_covers_every_question, assert_fails_with, assert_judge_agrees
from keras import layers

from utils.checks import PASS
from utils.checks import lesson07 as L


# ----------------------------------------------------------------------------- correct answers
def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(cm, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    return cm


def feature_maps(model, image, layer_name):
    probe = keras.Model(model.inputs[0], model.get_layer(layer_name).output)
    return np.asarray(probe(image[None]))[0]


def to_pm1(x):
    x = np.asarray(x, dtype=np.float32)
    return (x[..., None] if x.ndim == 3 else x) / 127.5 - 1.0


# q1: the prediction of every layer's output shape and parameter count
SHAPES = [(28, 28, 16), (28, 28, 16), (28, 28, 16), (14, 14, 16), (7, 7, 32), (7, 7, 32),
          (3, 3, 32), (288,), (64,), (10,)]
PARAMS = [1216, 64, 0, 0, 4608, 0, 0, 0, 18496, 650]


def prediction(shapes=SHAPES, params=PARAMS, **changes):
    """The right prediction with some entries changed: ``shape_3=(4, 4, 32)``, ``param_0=1200``."""
    shapes, params = list(shapes), list(params)
    for key, value in changes.items():
        kind, index = key.split("_")
        (shapes if kind == "shape" else params)[int(index)] = value
    return {"predicted_shapes": shapes, "predicted_params": params}


def prediction_by_arithmetic():
    """Lists of lists and counts written as the arithmetic, NumPy integers among them."""
    side = (32 - 5) // 1 + 1
    shapes = [[side, side, 16]] * 3 + [[side // 2, side // 2, 16]]
    shapes += [[int(np.ceil(14 / 2)), 7, 32]] * 2 + [[7 // 2, 7 // 2, 32], [3 * 3 * 32], [64], [10]]
    params = [np.int64(5 * 5 * 3 * 16 + 16), 4 * 16, 0, 0, 3 * 3 * 16 * 32, 0, 0, 0,
              288 * 64 + 64, 64 * 10 + 10]
    return {"predicted_shapes": shapes, "predicted_params": params}


def prediction_as_floats_and_arrays():
    """Shapes as tuples of whole-valued floats, the counts as a NumPy array."""
    return {"predicted_shapes": tuple(tuple(float(v) for v in shape) for shape in SHAPES),
            "predicted_params": np.array(PARAMS)}


def confusion_float_loop(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes))          # float counts with whole values
    for true, pred in zip(y_true, y_pred):
        cm[int(true), int(pred)] += 1
    return cm


def confusion_bincount(y_true, y_pred, num_classes):
    flat = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def confusion_tf(y_true, y_pred, num_classes):
    return tf.math.confusion_matrix(y_true.astype(np.int32), y_pred.astype(np.int32),
                                    num_classes=num_classes)


def maps_by_predict(model, image, layer_name):
    probe = keras.Model(model.inputs, model.get_layer(layer_name).output)
    return probe.predict(image[None], verbose=0)[0]


def maps_layer_by_layer(model, image, layer_name):
    x = image[None]
    for layer in model.layers:
        x = layer(x)
        if layer.name == layer_name:
            return x[0]                                  # a tensor


def pm1_rescaling(x):
    x = np.asarray(x)
    x = x[..., None] if x.ndim == 3 else x
    return keras.layers.Rescaling(1 / 127.5, offset=-1.0)(x.astype("float32"))


def pm1_centred(x):
    x = x.astype(np.float32)
    return np.expand_dims((x - 127.5) / 127.5, -1) if x.ndim == 3 else (x - 127.5) / 127.5


def cifar_functional(input_shape):
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(32, 3, padding="same", activation=tf.nn.relu)(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", activation=tf.nn.relu)(x)
    x = layers.Flatten()(layers.MaxPooling2D(2)(x))
    x = layers.Dense(128, activation=tf.nn.relu)(x)
    model = keras.Model(inputs, layers.Dense(10, activation=tf.nn.softmax)(x))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def cifar_separate_activations(input_shape):
    model = keras.Sequential([keras.Input(input_shape)])
    for filters in (32, 64):
        model.add(layers.Conv2D(filters, 3, padding="same"))
        model.add(layers.Activation("relu"))
        model.add(layers.MaxPooling2D())
    model.add(layers.Flatten())
    model.add(layers.Dense(128))
    model.add(layers.ReLU())
    model.add(layers.Dense(10))
    model.add(layers.Activation("softmax"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),
                  metrics=["acc"])
    return model


def cifar_loss_function(input_shape):
    """Compiled with the loss as a Keras function rather than a string or an object."""
    model = L.reference_cifar_model(input_shape)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.sparse_categorical_crossentropy, metrics=["accuracy"])
    return model


CORRECT = [
    ("q1", prediction()), ("q1", prediction_by_arithmetic()),
    ("q1", prediction_as_floats_and_arrays()),
    ("q2", confusion_matrix), ("q2", confusion_float_loop), ("q2", confusion_bincount),
    ("q2", confusion_tf),
    ("q3", feature_maps), ("q3", maps_by_predict), ("q3", maps_layer_by_layer),
    ("q4", to_pm1), ("q4", pm1_rescaling), ("q4", pm1_centred),
    ("q5", L.reference_cifar_model), ("q5", cifar_functional), ("q5", cifar_separate_activations),
]


# ----------------------------------------------------------------------------- wrong answers
def cm_transposed(y_true, y_pred, num_classes):
    return confusion_matrix(y_true, y_pred, num_classes).T


def cm_fancy_index(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    cm[y_true, y_pred] += 1           # repeated pairs are counted once
    return cm


def cm_uint8_bincount(y_true, y_pred, num_classes):
    flat = y_true * num_classes + y_pred      # wraps around for uint8 labels
    return np.bincount(flat, minlength=num_classes ** 2)[: num_classes ** 2].reshape(num_classes, num_classes)


def cm_row_normalized(y_true, y_pred, num_classes):
    cm = confusion_matrix(y_true, y_pred, num_classes).astype(float)
    return cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)


def cm_present_classes_only(y_true, y_pred, num_classes):
    k = int(max(y_true.max(), y_pred.max())) + 1
    return confusion_matrix(y_true, y_pred, k)


def maps_with_batch_axis(model, image, layer_name):
    return np.asarray(keras.Model(model.inputs, model.get_layer(layer_name).output)(image[None]))


def maps_of_whole_model(model, image, layer_name):
    return np.asarray(model(image[None]))[0]


def maps_one_layer_too_far(model, image, layer_name):
    names = [layer.name for layer in model.layers]
    after = model.layers[names.index(layer_name) + 1]
    return np.asarray(keras.Model(model.inputs, after.output)(image[None]))[0]


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


def cifar_fixed_input(input_shape):
    return L.reference_cifar_model((32, 32, 3))


WRONG = {
    "q1": [(prediction(shape_0=(32, 32, 16)), "layer 1 (Conv2D(16, 5) on 32x32x3): your shape "
                                              "(32, 32, 16) is wrong: that is what padding='same'"),
           (prediction(shape_0=(30, 30, 16)), "this kernel is 5x5"),
           (prediction(shape_4=(14, 14, 32)), "layer 5 (Conv2D(32, 3, strides=2, padding='same', "
                                              "use_bias=False)): your shape (14, 14, 32) is wrong: "
                                              "the stride"),
           (prediction(shape_6=(4, 4, 32)), "layer 7 (MaxPooling2D(2)): your shape (4, 4, 32) is "
                                            "wrong: pooling rounds down"),
           (prediction(shape_7=(1568,)), "Flatten sees the output of the pooling layer"),
           (prediction(shape_0=(None, 28, 28, 16)), "leave out the batch axis"),
           (prediction(shape_0=(16, 28, 28)), "channels last"),
           (prediction(shape_6=(3.5, 3.5, 32)), "not a whole number"),
           (prediction(param_0=1200), "layer 1 (Conv2D(16, 5) on 32x32x3): your parameter count "
                                      "1,200 is wrong: the bias"),
           (prediction(param_1=32), "also counts the moving mean and variance"),
           (prediction(param_4=4640), "this convolution has `use_bias=False`"),
           (prediction(param_8=18432), "layer 9 (Dense(64)): your parameter count 18,432 is wrong: "
                                       "the bias"),
           (prediction(param_8=100416), "the Flatten size feeding this layer is wrong"),
           (prediction(param_3=32), "pooling has no parameters"),
           (prediction(params=PARAMS[:-1]), "`predicted_params` has 9 entries; the model has 10 "
                                            "layers"),
           ({"predicted_shapes": "28x28x16", "predicted_params": PARAMS}, "should be a list"),
           (prediction(param_9=650.5), "not a whole number")],
    "q2": [(cm_transposed, "rows and columns are swapped"),
           (cm_fancy_index, "300 labels of 10 classes"),
           (cm_uint8_bincount, "uint8 labels of 20 classes"),
           (cm_row_normalized, "holds fractions"),
           (cm_present_classes_only, "4 classes when only classes 0 and 1 occur")],
    "q3": [(maps_with_batch_axis, "has shape (1, 10, 8, 4)"),
           (maps_of_whole_model, "layer 'conv_a'"),
           (maps_one_layer_too_far, "feature_maps at layer 'conv_a'")],
    "q4": [(pm1_uint8_overflow, "to_pm1(x) for every grey level"),
           (pm1_no_shift, "is wrong at"),
           (pm1_float64, "dtype float64"),
           (pm1_no_channel, "should have shape (1, 16, 16, 1)")],
    "q5": [(cifar_variant(valid=True), "`padding` = 'valid'"),
           (cifar_variant(compile_model=False), "not compiled"),
           (cifar_variant(optimizer="sgd"), "compiled with SGD"),
           (cifar_variant(optimizer=keras.optimizers.Adam(1e-2)), "wrong learning rate"),
           (cifar_variant(loss="categorical_crossentropy"), "not sparse categorical cross-entropy"),
           (cifar_variant(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
            "not sparse categorical cross-entropy"),
           (cifar_variant(metrics=()), "does not track accuracy"),
           (cifar_fixed_input, "cifar_reference_model((28, 28, 1))")],
}


(test_correct_answer_passes, test_wrong_answer_fails, _,
 test_judge_gives_the_same_verdict) = answer_tests(L, CORRECT, WRONG)


def test_loss_function_passes_in_the_notebook():
    result = L.q5.evaluate(namespace={}, cifar_reference_model=cifar_loss_function)
    assert result.status == PASS, result.messages


def test_loss_function_passes_in_the_judge():
    # Keras saves a loss given as a function under module 'builtins'; the codec maps it back to
    # its Keras name, so the judge rebuilds the model compiled, as the notebook has it
    assert_judge_agrees(L.q5, {"cifar_reference_model": cifar_loss_function})


# ----------------------------------------------------------------------------- q6: your own CNN
# Trained models come from fixtures (trained once per test module); the check runs in smoke mode
# (one epoch on 1,000 images) or, with the threshold lowered, on a model trained a little longer.
def tiny_cnn(compiled=True, softmax=True, input_shape=(28, 28, 1)):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(input_shape), layers.Conv2D(8, 3, activation="relu"),
                              layers.MaxPooling2D(4), layers.Flatten(),
                              layers.Dense(10, activation="softmax" if softmax else None)])
    if compiled:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def solution_design():
    """The lesson's solution: three Conv-BN-ReLU-Pool blocks, Flatten, Dense, Dropout."""
    model = keras.Sequential([keras.Input((28, 28, 1))])
    for filters in (32, 64, 128):
        model.add(layers.Conv2D(filters, 3, padding="same", use_bias=False))
        model.add(layers.BatchNormalization(momentum=0.9))
        model.add(layers.ReLU())
        model.add(layers.MaxPooling2D(2))
    model.add(layers.Flatten())
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dropout(0.3))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
        1e-3, decay_steps=15)), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def gap_design():
    """Another head, as the text invites: global average pooling, BN with Keras's momentum."""
    model = keras.Sequential([keras.Input((28, 28, 1))])
    for filters in (32, 64, 128):
        model.add(layers.Conv2D(filters, 3, padding="same", use_bias=False))
        model.add(layers.BatchNormalization())
        model.add(layers.ReLU())
        model.add(layers.MaxPooling2D(2))
    model.add(layers.GlobalAveragePooling2D())
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def functional_design():
    """The functional API, a Rescaling layer inside the model, tf.nn activations, a loss object."""
    inputs = keras.Input((28, 28, 1))
    x = layers.Rescaling(2.0, offset=-1.0)(inputs)
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation=tf.nn.relu)(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Dense(64, activation=tf.nn.relu)(layers.Flatten()(x))
    model = keras.Model(inputs, layers.Dense(10, activation=tf.nn.softmax)(x))
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy())
    return model


DESIGNS = {"solution": solution_design, "gap-head": gap_design, "functional": functional_design}


@pytest.fixture(scope="module")
def smoke_runs():
    """Each design trained as a smoke run trains it: one epoch on the smoke data."""
    from utils.data import load_fashion_mnist, to_float_images

    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_SMOKE", "1")
        (x, y), _ = load_fashion_mnist()
        for seed, (name, build) in enumerate(DESIGNS.items()):
            keras.utils.set_random_seed(seed)
            model = build()
            history = model.fit(to_float_images(x), y, epochs=1, batch_size=64,
                                validation_split=0.1, verbose=0)
            runs[name] = (model, history)
    return runs


@pytest.fixture(scope="module")
def trained():
    """A small CNN trained for 2 epochs on the bundled data (about 80% validation accuracy), and
    its history."""
    from utils.data import load_fashion_mnist, to_float_images

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("COURSE_SMOKE", raising=False)
        (x, y), _ = load_fashion_mnist()
        model = tiny_cnn()
        history = model.fit(to_float_images(x), y, epochs=2, batch_size=64, validation_split=0.1,
                            verbose=0)
    return model, history


@pytest.mark.parametrize("design", DESIGNS)
def test_free_design_passes_in_smoke_mode(design, smoke_runs, monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "1")
    model, history = smoke_runs[design]
    result = L.q6.evaluate(namespace={}, model=model, history=history)
    assert result.status == PASS, result.messages
    assert_judge_agrees(L.q6, {"model": model, "history": history})


def test_free_design_passes_above_the_threshold(trained, monkeypatch):
    monkeypatch.delenv("COURSE_SMOKE", raising=False)
    monkeypatch.setattr(L, "ACCURACY_THRESHOLD", 0.7)   # the small trained CNN is above 0.7
    result = L.q6.evaluate(namespace={}, model=trained[0], history=trained[1].history)
    assert result.status == PASS, result.messages
    assert_judge_agrees(L.q6, {"model": trained[0], "history": trained[1].history})


def test_free_design_below_the_threshold_fails(trained, monkeypatch):
    monkeypatch.delenv("COURSE_SMOKE", raising=False)
    assert_fails_with(L.q6, {"model": trained[0], "history": trained[1]},
                      f"the threshold is {L.ACCURACY_THRESHOLD:.1%}")


def test_free_design_without_a_validation_split_fails(trained, monkeypatch):
    monkeypatch.delenv("COURSE_SMOKE", raising=False)
    monkeypatch.setattr(L, "ACCURACY_THRESHOLD", 0.7)
    history = {"loss": trained[1].history["loss"]}           # as if fit had no validation_split
    assert_fails_with(L.q6, {"model": trained[0], "history": history}, "holds no 'val_loss'")
    assert_judge_agrees(L.q6, {"model": trained[0], "history": history})


WRONG_Q6 = [  # (smoke mode?, answers, message)
    (False, lambda: {"model": tiny_cnn(), "history": {"loss": [2.3, 2.2], "val_loss": [2.3, 2.2]}},
     f"the threshold is {L.ACCURACY_THRESHOLD:.1%}"),
    (False, lambda: {"model": tiny_cnn(softmax=False), "history": {"loss": [2.3, 2.2]}},
     "not probabilities"),
    (False, lambda: {"model": tiny_cnn(compiled=False), "history": {"loss": [2.3, 2.2]}},
     "not compiled"),
    (False, lambda: {"model": tiny_cnn(), "history": {"loss": [1.0, 1.2]}}, "did not fall"),
    (False, lambda: {"model": tiny_cnn(), "history": {"loss": [float("nan")]}}, "NaN"),
    (False, lambda: {"model": tiny_cnn(input_shape=(32, 32, 3)), "history": {"loss": [1.0]}},
     "`model.predict` failed"),
    (True, lambda: {"model": tiny_cnn(), "history": {"loss": [2.25]}}, "has not learned yet"),
    # an untrained model with a made-up history that looks like learning
    (True, lambda: {"model": tiny_cnn(), "history": {"loss": [2.3, 0.9]}}, "has not learned yet"),
    (True, lambda: {"model": solution_design(), "history": {"loss": [1.2]}}, "has not learned yet"),
]


@pytest.mark.parametrize("smoke, factory, text", WRONG_Q6,
                         ids=[f"q6-{i + 1}" for i in range(len(WRONG_Q6))])
def test_free_design_wrong_answers_fail(smoke, factory, text, monkeypatch):
    if smoke:
        monkeypatch.setenv("COURSE_SMOKE", "1")
    else:
        monkeypatch.delenv("COURSE_SMOKE", raising=False)
    answers = factory()
    assert_fails_with(L.q6, answers, text)
    assert_judge_agrees(L.q6, answers)


def test_every_question_has_a_wrong_answer():
    assert_covers_every_question(L, set(WRONG) | {"q6"})


def test_exercise_1_shows_the_model_the_check_uses():
    """The model printed in exercise 1's text is the one q1 builds (same layers and settings)."""
    import json
    import re
    from pathlib import Path

    master = Path(__file__).resolve().parent.parent / "solutions" / "07_first_cnn.ipynb"
    cells = json.loads(master.read_text(encoding="utf-8"))["cells"]
    text = next("".join(c["source"]) for c in cells
                if "### Exercise 1 · Predict, then run" in "".join(c["source"]))
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    shown = eval(code, {"keras": keras, "layers": layers})

    def described(model):
        return [(type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
                for layer in model.layers]

    assert described(shown) == described(L.predict_cnn())
