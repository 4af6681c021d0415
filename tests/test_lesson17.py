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


# q4 and q6 take predictions and readings as plain data
FINE_TUNING_READING = dict(lr_that_destroys=1e-2, lr_that_barely_moves=1e-5, diagnosis="too large",
                           trainable_after=3 * 3 * 64 * 128 + 1152 * 3 + 3)
FINE_TUNING_NUMPY = dict(lr_that_destroys=np.float32(0.01), lr_that_barely_moves=np.array(1e-5),
                         diagnosis="Too large", trainable_after=np.int64(77_187))
FINE_TUNING_STRINGS = dict(lr_that_destroys=10 ** -2, lr_that_barely_moves=[0.00001],
                           diagnosis=" too_large ", trainable_after=77187.0)
APP_PREDICTION = dict(features_160=(160 // 32, 160 // 32, 1280), head_pooled=1280 * 3 + 3,
                      head_flat=3 * 3 * 1280 * 3 + 3)
APP_PREDICTION_LISTS = dict(features_160=[5, 5, 1280], head_pooled=np.int32(3843),
                            head_flat=34_563.0)
APP_PREDICTION_ARRAY = dict(features_160=np.array([5, 5, 1280]), head_pooled=3843,
                            head_flat=np.int64(34563))


CORRECT = [
    ("q1", split_classes), ("q1", split_classes_hint3), ("q1", split_classes_dict),
    ("q1", split_classes_searchsorted),
    ("q2", add_new_head), ("q2", add_new_head_softmax_layer), ("q2", add_new_head_tf_softmax),
    ("q3", unfreeze_top), ("q3", unfreeze_top_slice), ("q3", unfreeze_top_index),
    ("q4", FINE_TUNING_READING), ("q4", FINE_TUNING_NUMPY), ("q4", FINE_TUNING_STRINGS),
    ("q5", to_app_inputs), ("q5", to_app_inputs_tf), ("q5", to_app_inputs_concat),
    ("q6", APP_PREDICTION), ("q6", APP_PREDICTION_LISTS), ("q6", APP_PREDICTION_ARRAY),
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
    "q4": [(dict(FINE_TUNING_READING, lr_that_destroys=1e-3), "lost a few points and climbed back"),
           (dict(FINE_TUNING_READING, lr_that_destroys=1e-5), "flattest curve"),
           (dict(FINE_TUNING_READING, lr_that_destroys=1e-4), "not one of the three measured rates"),
           (dict(FINE_TUNING_READING, lr_that_barely_moves=1e-2), "changed the most"),
           (dict(FINE_TUNING_READING, lr_that_barely_moves=1e-3), "moved more than those of one"),
           (dict(FINE_TUNING_READING, diagnosis="overfitting"), "overfitting is slow"),
           (dict(FINE_TUNING_READING, diagnosis="batchnorm"), "BatchNorm stayed frozen"),
           (dict(FINE_TUNING_READING, diagnosis="too small"), "leaves the curve flat"),
           (dict(FINE_TUNING_READING, diagnosis="exploding gradients"), "should be one of"),
           (dict(FINE_TUNING_READING, diagnosis=3), "not a number"),
           (dict(FINE_TUNING_READING, trainable_after=3459), "counts only the head"),
           (dict(FINE_TUNING_READING, trainable_after=73728), "counts only the unfrozen convolution"),
           (dict(FINE_TUNING_READING, trainable_after=77443), "counts BatchNorm's gamma and beta"),
           (dict(FINE_TUNING_READING, trainable_after=77699), "weights and moving statistics"),
           (dict(FINE_TUNING_READING, trainable_after=77315), "a bias per filter"),
           (dict(FINE_TUNING_READING, trainable_after=96355), "counts every weight of the base"),
           (dict(FINE_TUNING_READING, trainable_after=77000), "add up the weights of every layer"),
           (dict(FINE_TUNING_READING, trainable_after=77187.5), "not a whole number")],
    "q5": [(app_inputs_no_preprocess, "not rescaled the way MobileNetV2 expects"),
           (app_inputs_divided, "no value is negative"),
           (app_inputs_one_channel, "one channel"),
           (app_inputs_nearest, "to_app_inputs on 4 random images"),
           (app_inputs_in_place, "changed its input")],
    "q6": [(dict(APP_PREDICTION, features_160=(None, 5, 5, 1280)), "holds the batch axis"),
           (dict(APP_PREDICTION, features_160=(3, 3, 1280)), "the shape at 96x96"),
           (dict(APP_PREDICTION, features_160=(5, 5, 320)), "has 320 channels"),
           (dict(APP_PREDICTION, features_160=(10, 10, 1280)), "are not 10x10"),
           (dict(APP_PREDICTION, features_160=(5, 5)), "has 2 entries"),
           (dict(APP_PREDICTION, features_160="5x5x1280"), "should be a tuple of whole numbers"),
           (dict(APP_PREDICTION, head_pooled=3840), "`head_pooled` leaves out the biases"),
           (dict(APP_PREDICTION, head_pooled=34563), "the size of the head on flattened maps"),
           (dict(APP_PREDICTION, head_pooled=1283), "not the number of weights of a Dense(3)"),
           (dict(APP_PREDICTION, head_flat=34560), "`head_flat` leaves out the biases"),
           (dict(APP_PREDICTION, head_flat=3843), "the size of the pooled head"),
           (dict(APP_PREDICTION, head_flat=96003), "is for 160x160 inputs"),
           (dict(APP_PREDICTION, head_flat=11523), "flattened 96x96 feature maps")],
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
