"""Lesson 17 (transfer learning): reference answers PASS, plausible mistakes FAIL with a clear
message; the shipped pretrained base loads offline with the documented shapes."""
import keras
import numpy as np
from helpers import answer_tests
from keras import layers

from utils.checks import lesson17
from utils.config import DATA_DIR


# ----------------------------------------------------------------------------- reference answers
def split_classes(x, y, classes):
    keep = np.isin(y, classes)
    lookup = np.full(max(int(np.max(y, initial=0)), *classes) + 1, -1)
    lookup[list(classes)] = np.arange(len(classes))
    return x[keep], lookup[y[keep]]


def add_new_head(base, num_classes):
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = base(inputs, training=False)
    x = layers.Dropout(0.5)(layers.Flatten()(x))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def add_pooled_head(base, num_classes):
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = layers.GlobalAveragePooling2D()(base(inputs, training=False))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def unfreeze_top(base, n):
    base.trainable = True
    top = base.layers[len(base.layers) - n:] if n > 0 else []
    for layer in base.layers:
        layer.trainable = layer in top and not isinstance(layer, layers.BatchNormalization)


def compile_for_fine_tuning(model):
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])


def to_app_inputs(images):
    x = np.asarray(images, dtype="float32")[..., None]
    x = keras.ops.repeat(keras.ops.image.resize(x, (96, 96)), 3, axis=-1)
    return keras.applications.mobilenet_v2.preprocess_input(keras.ops.convert_to_numpy(x))


def build_app_model(num_classes, weights):
    base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False,
                                          weights=weights)
    return add_pooled_head(base, num_classes)


REFERENCE = {
    "q1": {"split_classes": split_classes},
    "q2": {"add_new_head": add_new_head},
    "q3": {"unfreeze_top": unfreeze_top},
    "q4": {"compile_for_fine_tuning": compile_for_fine_tuning},
    "q5": {"to_app_inputs": to_app_inputs},
    "q6": {"build_app_model": build_app_model},
}


# ----------------------------------------------------------------------------- wrong answers
def split_not_renumbered(x, y, classes):
    keep = np.isin(y, classes)
    return x[keep], y[keep]


def split_sorted_order(x, y, classes):       # np.unique numbers the classes in increasing order
    keep = np.isin(y, classes)
    return x[keep], np.unique(y[keep], return_inverse=True)[1]


def split_minus_first(x, y, classes):        # right only for consecutive, increasing classes
    keep = np.isin(y, classes)
    return x[keep], y[keep].astype(int) - min(classes)


def split_x_unfiltered(x, y, classes):
    return x, split_classes(x, y, classes)[1]


def head_not_frozen(base, num_classes):
    model = add_new_head(base, num_classes)
    base.trainable = True
    return model


def head_sequential(base, num_classes):
    base.trainable = False
    return keras.Sequential([base, layers.Flatten(), layers.Dropout(0.5),
                             layers.Dense(num_classes, activation="softmax")])


def head_without_training_flag(base, num_classes):
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = layers.Flatten()(base(inputs))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def head_logits(base, num_classes):
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = layers.Flatten()(base(inputs, training=False))
    return keras.Model(inputs, layers.Dense(num_classes)(x))


def head_hidden_layer(base, num_classes):
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = layers.Dense(32, activation="relu")(layers.Flatten()(base(inputs, training=False)))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def head_flatten(base, num_classes):          # q6: MobileNetV2's 3x3x1280 maps want pooling
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = layers.Flatten()(base(inputs, training=False))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def unfreeze_minus_zero(base, n):            # base.layers[-0:] is the whole list
    base.trainable = True
    for layer in base.layers:
        layer.trainable = False
    for layer in base.layers[-n:]:
        layer.trainable = not isinstance(layer, layers.BatchNormalization)


def unfreeze_forgot_base(base, n):
    top = base.layers[len(base.layers) - n:] if n > 0 else []
    for layer in base.layers:
        layer.trainable = layer in top and not isinstance(layer, layers.BatchNormalization)


def unfreeze_with_bn(base, n):
    base.trainable = True
    top = base.layers[len(base.layers) - n:] if n > 0 else []
    for layer in base.layers:
        layer.trainable = layer in top


def compile_high_lr(model):
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])


def compile_only_lr(model):                   # the old optimizer, the old compiled state
    model.optimizer.learning_rate.assign(1e-5)


def compile_one_hot_loss(model):
    model.compile(keras.optimizers.Adam(1e-5), "categorical_crossentropy", metrics=["accuracy"])


def compile_no_metric(model):
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy")


def compile_and_unfreeze_all(model):
    for layer in model.layers[1].layers:      # the base: every layer, BatchNorm included
        layer.trainable = True
    compile_for_fine_tuning(model)


def app_inputs_no_preprocess(images):
    x = np.asarray(images, dtype="float32")[..., None]
    return keras.ops.convert_to_numpy(keras.ops.repeat(keras.ops.image.resize(x, (96, 96)), 3, -1))


def app_inputs_divided(images):
    return app_inputs_no_preprocess(images) / 255.0


def app_inputs_one_channel(images):
    x = np.asarray(images, dtype="float32")[..., None]
    return keras.applications.mobilenet_v2.preprocess_input(
        keras.ops.convert_to_numpy(keras.ops.image.resize(x, (96, 96))))


def app_inputs_nearest(images):
    x = np.asarray(images, dtype="float32")[..., None]
    x = keras.ops.repeat(keras.ops.image.resize(x, (96, 96), interpolation="nearest"), 3, -1)
    return keras.applications.mobilenet_v2.preprocess_input(keras.ops.convert_to_numpy(x))


def app_inputs_in_place(images):
    images += 1
    return to_app_inputs(images - 1)


def app_with_top(num_classes, weights):
    base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=True,
                                          weights=weights)
    return add_new_head_dense(base, num_classes)


def add_new_head_dense(base, num_classes):
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(
        base(inputs, training=False)))


def app_not_frozen(num_classes, weights):
    model = build_app_model(num_classes, weights)
    model.layers[1].trainable = True
    return model


def app_flatten(num_classes, weights):
    base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False,
                                          weights=weights)
    return head_flatten(base, num_classes)


WRONG = {
    "q1": [(split_not_renumbered, "still holds the original class ids"),
           (split_sorted_order, "y_new for classes (9, 2, 5)"),
           (split_minus_first, "y_new for classes (9, 2, 5)"),
           (split_x_unfiltered, "x_kept for the target classes")],
    "q2": [(head_not_frozen, "set `base.trainable = False`"),
           (head_sequential, "not called with `training=False`"),
           (head_without_training_flag, "not called with `training=False`"),
           (add_pooled_head, "flatten the whole feature map"),
           (head_hidden_layer, "trainable weight tensors"),
           (head_logits, "not class probabilities")],
    "q3": [(unfreeze_minus_zero, "with n=0: layer(s)"),
           (unfreeze_forgot_base, "`base.trainable` is still False"),
           (unfreeze_with_bn, "BatchNormalization layer(s)")],
    "q4": [(compile_high_lr, "the learning rate is 0.001"),
           (compile_only_lr, "did not compile the model again"),
           (compile_one_hot_loss, "sparse_categorical_crossentropy"),
           (compile_no_metric, "metrics=['accuracy']"),
           (compile_and_unfreeze_all, "changed which weights are trainable")],
    "q5": [(app_inputs_no_preprocess, "apply mobilenet_v2.preprocess_input"),
           (app_inputs_divided, "no value is negative"),
           (app_inputs_one_channel, "one channel"),
           (app_inputs_nearest, "to_app_inputs on 4 random images"),
           (app_inputs_in_place, "changed its input")],
    "q6": [(app_with_top, "include_top=False"),
           (app_not_frozen, "set `base.trainable = False`"),
           (app_flatten, "GlobalAveragePooling2D")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson17, REFERENCE, WRONG)


# ----------------------------------------------------------------------------- shipped base
def test_pretrained_base_loads_with_documented_shapes():
    path = DATA_DIR / "fashion_base.keras"
    assert path.stat().st_size < 3_000_000
    base = keras.models.load_model(path)
    assert base.input_shape == (None, 28, 28, 1)
    assert base.output_shape == (None, 3, 3, 128)
    assert base.count_params() == 93_344                     # as documented in data/README.md
    assert [layer.name for layer in base.layers if layer.weights][-2:] == ["block3_conv", "block3_bn"]
    features = base.predict(np.zeros((2, 28, 28, 1), "float32"), verbose=0)
    assert features.shape == (2, 3, 3, 128) and np.all(np.isfinite(features))
