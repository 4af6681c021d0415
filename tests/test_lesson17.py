"""Lesson 17 (transfer learning): correct answers PASS, plausible mistakes FAIL with a clear
message; the shipped pretrained base loads offline with the documented shapes."""
import keras
import numpy as np
import tensorflow as tf
from helpers import answer_tests
from keras import layers

from utils.checks import lesson17
from utils.config import DATA_DIR


# ----------------------------------------------------------------------------- correct answers
def split_classes(x, y, classes):
    keep = np.isin(y, classes)
    lookup = np.full(max(int(np.max(y, initial=0)), *classes) + 1, -1)
    lookup[list(classes)] = np.arange(len(classes))
    return x[keep], lookup[y[keep]]


def split_classes_hint3(x, y, classes):
    """Hint 3 typed as written."""
    keep = np.isin(y, classes)
    new = np.full(max(y.max(), max(classes)) + 1, -1)
    new[list(classes)] = np.arange(len(classes))
    return x[keep], new[y[keep]]


def split_classes_dict(x, y, classes):
    position = {c: i for i, c in enumerate(classes)}
    keep = [i for i, label in enumerate(y) if int(label) in position]
    return x[keep], np.array([position[int(y[i])] for i in keep], dtype=np.int32)


def split_classes_searchsorted(x, y, classes):
    classes = np.asarray(classes)
    order = np.argsort(classes)
    keep = np.isin(y, classes)
    return x[keep], order[np.searchsorted(classes[order], y[keep])]


def add_new_head(base, num_classes):
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = base(inputs, training=False)
    x = layers.Dropout(0.5)(layers.Flatten()(x))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def add_new_head_softmax_layer(base, num_classes):
    """base.input.shape, Dropout before Flatten, a Softmax layer after a linear Dense."""
    base.trainable = False
    inputs = keras.Input(shape=tuple(base.input.shape[1:]))
    x = layers.Flatten()(layers.Dropout(rate=0.5)(base(inputs, training=False)))
    return keras.Model(inputs=inputs, outputs=layers.Softmax()(layers.Dense(num_classes)(x)))


def add_new_head_tf_softmax(base, num_classes):
    """Frozen after the graph is built; tf.nn.softmax as the activation."""
    inputs = keras.Input(base.input_shape[1:], name="images")
    features = base(inputs, training=False)
    outputs = layers.Dense(num_classes, activation=tf.nn.softmax)(
        layers.Dropout(0.5)(layers.Reshape((-1,))(features)))
    model = keras.Model(inputs, outputs, name="new_head")
    base.trainable = False
    return model


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


def unfreeze_top_slice(base, n):
    base.trainable = True
    for layer in base.layers:
        layer.trainable = False
    for layer in (base.layers[-n:] if n else []):
        if not isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = True


def unfreeze_top_index(base, n):
    base.trainable = True
    first = max(len(base.layers) - n, 0)
    for i, layer in enumerate(base.layers):
        layer.trainable = i >= first and type(layer).__name__ != "BatchNormalization"


def compile_for_fine_tuning(model):
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])


def compile_objects(model):
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])


def compile_sgd(model):
    model.compile(optimizer=keras.optimizers.SGD(5e-5, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def to_app_inputs(images):
    x = np.asarray(images, dtype="float32")[..., None]
    x = keras.ops.repeat(keras.ops.image.resize(x, (96, 96)), 3, axis=-1)
    return keras.applications.mobilenet_v2.preprocess_input(keras.ops.convert_to_numpy(x))


def to_app_inputs_tf(images):
    """tf.image, np.repeat after the resize, the formula of preprocess_input written out."""
    x = tf.image.resize(tf.cast(np.asarray(images)[..., np.newaxis], tf.float32), (96, 96))
    return (np.repeat(x.numpy(), 3, axis=-1) / 127.5 - 1.0).astype(np.float32)


def to_app_inputs_concat(images):
    x = keras.ops.image.resize(images.astype("float32")[:, :, :, None], (96, 96),
                               interpolation="bilinear")
    x = keras.ops.concatenate([x, x, x], axis=-1)
    return keras.applications.mobilenet_v2.preprocess_input(np.array(x, dtype="float32"))


def build_app_model(num_classes, weights):
    base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False,
                                          weights=weights)
    return add_pooled_head(base, num_classes)


def build_app_model_pooled_base(num_classes, weights):
    """pooling='avg' averages each channel inside the base: the same computation."""
    base = keras.applications.mobilenet_v2.MobileNetV2(input_shape=(96, 96, 3), weights=weights,
                                                       include_top=False, pooling="avg")
    base.trainable = False
    inputs = keras.Input((96, 96, 3))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(
        base(inputs, training=False)))


def build_app_model_alias(num_classes, weights):
    """GlobalAvgPool2D (an alias) and a Softmax activation layer."""
    base = keras.applications.MobileNetV2((96, 96, 3), include_top=False, weights=weights)
    base.trainable = False
    inputs = keras.Input(shape=(96, 96, 3))
    h = layers.GlobalAvgPool2D()(base(inputs, training=False))
    return keras.Model(inputs, layers.Activation("softmax")(layers.Dense(num_classes)(h)))


CORRECT = [
    ("q1", split_classes), ("q1", split_classes_hint3), ("q1", split_classes_dict),
    ("q1", split_classes_searchsorted),
    ("q2", add_new_head), ("q2", add_new_head_softmax_layer), ("q2", add_new_head_tf_softmax),
    ("q3", unfreeze_top), ("q3", unfreeze_top_slice), ("q3", unfreeze_top_index),
    ("q4", compile_for_fine_tuning), ("q4", compile_objects), ("q4", compile_sgd),
    ("q5", to_app_inputs), ("q5", to_app_inputs_tf), ("q5", to_app_inputs_concat),
    ("q6", build_app_model), ("q6", build_app_model_pooled_base), ("q6", build_app_model_alias),
]


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


def compile_acc(model):                       # logged as 'acc': the history has no 'accuracy'
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy", metrics=["acc"])


def compile_one_hot_metric(model):            # an accuracy for one-hot labels, named 'accuracy'
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy",
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])


def head_dropout_02(base, num_classes):
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = layers.Dropout(0.2)(layers.Flatten()(base(inputs, training=False)))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def head_no_dropout(base, num_classes):
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = layers.Flatten()(base(inputs, training=False))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


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


def app_max_pooled(num_classes, weights):
    base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False,
                                          weights=weights, pooling="max")
    base.trainable = False
    inputs = keras.Input((96, 96, 3))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(
        base(inputs, training=False)))


def app_no_training_flag(num_classes, weights):
    base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False,
                                          weights=weights)
    base.trainable = False
    inputs = keras.Input((96, 96, 3))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(
        layers.GlobalAveragePooling2D()(base(inputs))))


def app_flatten(num_classes, weights):
    base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False,
                                          weights=weights)
    return head_flatten(base, num_classes)


WRONG = {
    "q1": [(split_not_renumbered, "still holds the original class ids"),
           (split_sorted_order, "y_new for classes (9, 2, 5)"),
           (split_minus_first, "y_new for classes (9, 2, 5)"),
           (split_x_unfiltered, "x_kept for the target classes")],
    "q2": [(head_not_frozen, "the base is still trainable"),
           (head_sequential, "not called in inference mode"),
           (head_without_training_flag, "not called in inference mode"),
           (add_pooled_head, "the whole feature map is not flattened"),
           (head_hidden_layer, "trainable weight tensors"),
           (head_logits, "not class probabilities"),
           (head_dropout_02, "one Dropout layer with rate 0.5, not rates [0.2]"),
           (head_no_dropout, "one Dropout layer with rate 0.5, not none")],
    "q3": [(unfreeze_minus_zero, "with n=0: layer(s)"),
           (unfreeze_forgot_base, "`base.trainable` is still False"),
           (unfreeze_with_bn, "BatchNormalization layer(s)")],
    "q4": [(compile_high_lr, "the learning rate is 0.001"),
           (compile_only_lr, "did not compile the model again"),
           (compile_one_hot_loss, "on integer labels failed"),
           (compile_no_metric, "logs no metric named 'accuracy'"),
           (compile_acc, "logs no metric named 'accuracy'"),
           (compile_one_hot_metric, "is not the class accuracy"),
           (compile_and_unfreeze_all, "changed which weights are trainable")],
    "q5": [(app_inputs_no_preprocess, "not rescaled the way MobileNetV2 expects"),
           (app_inputs_divided, "no value is negative"),
           (app_inputs_one_channel, "one channel"),
           (app_inputs_nearest, "to_app_inputs on 4 random images"),
           (app_inputs_in_place, "changed its input")],
    "q6": [(app_with_top, "ImageNet's 1000-class classifier"),
           (app_not_frozen, "the base is still trainable"),
           (app_flatten, "GlobalAveragePooling2D"),
           (app_max_pooled, "pools with the maximum"),
           (app_no_training_flag, "not called in inference mode")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson17, CORRECT, WRONG)


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
