"""Array and Keras-model comparators: clear messages, equivalent solutions accepted."""
import keras
import numpy as np
import pytest

from utils.checks.compare import compare_arrays, compare_models


@pytest.mark.parametrize("value,text", [
    (None, "is None"), ("abc", "array of numbers"), ({"a": 1}, "array of numbers"),
    (np.zeros((3, 2)), "has shape (3, 2) but should have shape (2, 3)"),
    (np.array([[1.0, np.nan, 0], [0, 0, 0]]), "NaN or infinity at 1 position(s), first at index (0, 1)"),
    (np.ones((2, 3), bool), "holds booleans"),
    ([[1, 2], [3]], "could not be turned into an array"),
])
def test_array_problems_are_named(value, text):
    assert text in compare_arrays(value, np.zeros((2, 3)), "x")


def test_values_message_does_not_reveal_the_answer():
    message = compare_arrays(np.array([1.0, 2.0, 3.5]), np.array([1.0, 2.0, 3.0]), "x")
    assert "1 of 3" in message and "index (2,)" in message and "3.0" not in message


def test_close_arrays_and_lists_pass():
    assert compare_arrays([[0.0, 1e-8]], np.zeros((1, 2)), "x") is None


def reference():
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])


def test_equivalent_models_are_accepted():
    other = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, (3, 3)),
                              keras.layers.ReLU(), keras.layers.Flatten(), keras.layers.Dense(10),
                              keras.layers.Activation("softmax")])
    assert compare_models(other, reference()) is None


def test_unbuilt_sequential_is_built_from_the_reference_input():
    other = keras.Sequential([keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    assert compare_models(other, reference()) is None


def test_first_mismatching_layer_is_named():
    other = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    assert "layer 1 (Conv2D)" in compare_models(other, reference())
    assert "`filters` = 8" in compare_models(other, reference())


def test_wrong_layer_type_and_activation():
    pooled = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                               keras.layers.GlobalAveragePooling2D(),
                               keras.layers.Dense(10, activation="softmax")])
    assert "layer 2 (GlobalAveragePooling2D) of `your model` is a GlobalAveragePooling2D; the required architecture has a Flatten" in compare_models(pooled, reference())
    tanh = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="tanh"),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    assert "activation 'tanh'" in compare_models(tanh, reference())


def test_missing_layer_and_frozen_layer():
    short = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten()])
    assert "`your model` is missing a Dense after layer 2 (Flatten)" in compare_models(short, reference())
    extra = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.AveragePooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    assert ("layer 2 (AveragePooling2D) of `your model` is not in the required architecture (an "
            "AveragePooling2D too many)") in compare_models(extra, reference())
    fused = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    assert "missing an Activation after layer 1 (Conv2D)" in compare_models(fused, reference())
    frozen = reference()
    frozen.layers[0].trainable = False
    assert "frozen" in compare_models(frozen, reference())


def test_not_a_model_and_uncompiled_model():
    assert "should be a Keras model" in compare_models([1, 2], reference())
    assert "is None" in compare_models(None, reference())
    assert "not compiled" in compare_models(reference(), reference(), check_compiled=True)


def softmax_head(activation):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                             keras.layers.Dense(3, activation=activation)])


@pytest.mark.parametrize("activation", ["tf.nn.softmax", "keras.activations.softmax",
                                        "keras.ops.softmax", "softmax", "layer"])
def test_activations_spelled_as_functions_are_accepted(activation):
    import tensorflow as tf

    fn = {"tf.nn.softmax": tf.nn.softmax, "keras.activations.softmax": keras.activations.softmax,
          "keras.ops.softmax": keras.ops.softmax, "softmax": "softmax", "layer": None}[activation]
    model = softmax_head(fn)
    if fn is None:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation=tf.nn.relu),
                                  keras.layers.Dense(3), keras.layers.Softmax()])
    assert compare_models(model, softmax_head("softmax")) is None


def test_tensorflow_swish_is_keras_silu_and_sigmoid_is_not():
    import tensorflow as tf

    swish = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=tf.nn.swish)])
    silu = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="silu")])
    assert compare_models(swish, silu) is None
    assert "activation 'sigmoid'" in compare_models(softmax_head(tf.nn.sigmoid),
                                                    softmax_head("softmax"))


def test_a_model_with_tensorflow_activations_crosses_to_the_judge(tmp_path):
    import tensorflow as tf

    from utils.grading.codec import load_keras_file

    model = softmax_head(tf.nn.softmax)
    model.save(tmp_path / "m.keras")
    loaded = load_keras_file(tmp_path / "m.keras")
    x = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    assert compare_models(loaded, softmax_head("softmax")) is None
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6)
