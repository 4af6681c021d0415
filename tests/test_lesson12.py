"""Lesson 12 (regularization): correct answers PASS, plausible wrong answers FAIL with a specific message."""
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from helpers import answer_tests
from utils.checks import lesson12
from utils.checks.lesson12 import q1, q2, q3, q4, q5, q6


# ----------------------------------------------------------------------------- correct answers
def weight_penalty(model, l1, l2):
    kernels = [np.asarray(layer.kernel) for layer in model.layers if hasattr(layer, "kernel")]
    return sum(l1 * np.abs(k).sum() + l2 * np.square(k).sum() for k in kernels)


def dropout(x, rate, training, rng):
    if not training or rate == 0:
        return x
    keep = rng.random(x.shape) >= rate
    return x * keep / (1 - rate)


def spatial_dropout(x, rate, rng):
    keep = rng.random((x.shape[0], 1, 1, x.shape[3])) >= rate
    return x * keep / (1 - rate)


def gradient_norms(model, x, y):
    kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=True))
    return np.array([np.sqrt(np.sum(np.square(g))) for g in tape.gradient(loss, kernels)])


def clip_by_value(g, limit):
    return np.clip(g, -limit, limit)


def clip_by_norm(g, max_norm):
    norm = np.sqrt(np.sum(g ** 2))
    return g * max_norm / max(norm, max_norm)


def clip_by_global_norm(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    return [g * max_norm / max(norm, max_norm) for g in grads], norm


def residual_block(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.BatchNormalization()(
            layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x))
    return layers.ReLU()(layers.Add()([shortcut, y]))


CLIPS = {"clip_by_value": clip_by_value, "clip_by_norm": clip_by_norm,
         "clip_by_global_norm": clip_by_global_norm}


# ------------------------------------------------------------- correct answers, written differently
def weight_penalty_tf(model, l1, l2):
    total = 0.0
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            total += l1 * tf.reduce_sum(tf.abs(layer.kernel)) + l2 * tf.reduce_sum(
                tf.square(layer.kernel))
    return float(total)


def weight_penalty_keras_regularizer(model, l1, l2):  # Keras' own regularizer on each kernel
    penalty = keras.regularizers.L1L2(l1=l1, l2=l2)
    return sum(float(penalty(layer.kernel)) for layer in model.layers
               if isinstance(layer, (layers.Conv2D, layers.Dense)))


def weight_penalty_by_path(model, l1, l2):
    kernels = [w.numpy() for w in model.trainable_weights if w.path.endswith("kernel")]
    return np.float32(sum(l1 * np.linalg.norm(k.ravel(), 1) + l2 * np.dot(k.ravel(), k.ravel())
                          for k in kernels))


def dropout_binomial(x, rate, training, rng):
    if not training:
        return x
    mask = rng.binomial(1, 1 - rate, size=x.shape)
    return np.where(mask == 1, x / (1 - rate), 0.0)


def dropout_uniform(x, rate, training, rng):
    if training and rate > 0:
        return x * (rng.uniform(size=x.shape) >= rate).astype(x.dtype) * (1 / (1 - rate))
    return x.copy()


def spatial_dropout_binomial(x, rate, rng):
    n, _, _, c = x.shape
    return x * rng.binomial(1, 1 - rate, size=(n, 1, 1, c)) / (1 - rate)


def spatial_dropout_where(x, rate, rng):
    keep = rng.random((x.shape[0], x.shape[-1])) >= rate       # one coin per sample and channel
    return np.where(keep[:, None, None, :], x / (1 - rate), 0.0)


def gradient_norms_linalg(model, x, y):
    kernels = [layer.kernel for layer in model.layers if isinstance(layer, (layers.Conv2D,
                                                                            layers.Dense))]
    with tf.GradientTape() as tape:
        probs = model(x, training=True)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, probs))
    return [np.linalg.norm(np.ravel(g)) for g in tape.gradient(loss, kernels)]


def gradient_norms_all_then_pick(model, x, y):
    """The gradient of every trainable weight, then only the kernels (by their paths)."""
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(
            y, model(x, training=True)))
    grads = tape.gradient(loss, model.trainable_weights)
    return tf.stack([tf.norm(g) for g, w in zip(grads, model.trainable_weights)
                     if w.path.endswith("/kernel")])


def clip_by_value_minmax(g, limit):
    return np.minimum(np.maximum(g, -limit), limit)


def clip_by_norm_if(g, max_norm):
    norm = np.linalg.norm(g)       # over all entries, whatever the number of axes
    return g * (max_norm / norm) if norm > max_norm else g.copy()


def clip_by_global_norm_concat(grads, max_norm):
    flat = np.concatenate([g.ravel() for g in grads])
    norm = np.linalg.norm(flat)
    factor = 1.0 if norm <= max_norm else max_norm / norm
    return [g * factor for g in grads], norm


def clip_by_value_tf(g, limit):
    return tf.clip_by_value(g, -limit, limit)


def clip_by_norm_tf(g, max_norm):
    return tf.clip_by_norm(g, max_norm).numpy()


def clip_by_global_norm_tf(grads, max_norm):
    clipped, norm = tf.clip_by_global_norm(grads, max_norm)
    return [c.numpy() for c in clipped], float(norm)


def residual_block_tf_relu(x, filters, stride=1):
    """Activation(tf.nn.relu) layers, the shortcut built first."""
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.Activation(tf.nn.relu)(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, (3, 3), padding="same",
                                                  use_bias=False)(y))
    return layers.Activation(tf.nn.relu)(layers.add([shortcut, y]))


def residual_block_keras_relu(x, filters, stride=1):
    """keras.activations.relu and the string "relu"; strides given as a tuple."""
    main = keras.Sequential([
        layers.Conv2D(filters, 3, strides=(stride, stride), padding="same", use_bias=False),
        layers.BatchNormalization(), layers.Activation(keras.activations.relu),
        layers.Conv2D(filters, 3, padding="same", use_bias=False), layers.BatchNormalization()])
    y = main(x)
    if stride > 1 or x.shape[-1] != filters:
        x = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=stride,
                                                      use_bias=False)(x))
    return layers.Activation("relu")(layers.Add()([y, x]))


def residual_block_ops_relu(x, filters, stride=1):
    """keras.ops.relu called on the tensors instead of ReLU layers."""
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = keras.ops.relu(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
    if stride != 1 or x.shape[-1] != filters:
        x = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=stride,
                                                      use_bias=False)(x))
    return keras.ops.relu(layers.Add()([y, x]))


# ----------------------------------------------------------------------------- wrong answers
def penalty_from_model_losses(model, l1, l2):  # what Keras adds for the regularizers it carries
    return float(sum(model.losses))


def penalty_with_half(model, l1, l2):  # the 1/2 of textbook weight decay, which Keras does not use
    kernels = [np.asarray(layer.kernel) for layer in model.layers if hasattr(layer, "kernel")]
    return sum(l1 * np.abs(k).sum() + 0.5 * l2 * np.square(k).sum() for k in kernels)


def penalty_on_all_weights(model, l1, l2):  # biases and BatchNorm parameters penalized too
    return sum(l1 * np.abs(w).sum() + l2 * np.square(w).sum() for w in model.get_weights())


def penalty_without_abs(model, l1, l2):
    kernels = [np.asarray(layer.kernel) for layer in model.layers if hasattr(layer, "kernel")]
    return sum(l1 * k.sum() + l2 * np.square(k).sum() for k in kernels)


def dropout_without_scaling(x, rate, training, rng):
    return x * (rng.random(x.shape) >= rate) if training else x


def dropout_keep_prob_swapped(x, rate, training, rng):
    return x * (rng.random(x.shape) < rate) / rate if training else x


def dropout_old_style(x, rate, training, rng):  # scales at inference instead of while training
    return x * (rng.random(x.shape) >= rate) if training else x * (1 - rate)


def dropout_global_rng(x, rate, training, rng):
    return x * (np.random.random(x.shape) >= rate) / (1 - rate) if training else x


def dropout_in_place(x, rate, training, rng):
    if training:
        x *= (rng.random(x.shape) >= rate) / (1 - rate)
    return x


def spatial_per_element(x, rate, rng):  # ordinary dropout, not whole maps
    return x * (rng.random(x.shape) >= rate) / (1 - rate)


def spatial_shared_mask(x, rate, rng):  # one mask for the whole batch
    return x * (rng.random((1, 1, 1, x.shape[3])) >= rate) / (1 - rate)


def spatial_unscaled(x, rate, rng):
    return x * (rng.random((x.shape[0], 1, 1, x.shape[3])) >= rate)


def gradient_norms_with_biases(model, x, y):
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
    return np.array([float(tf.norm(g)) for g in tape.gradient(loss, model.trainable_weights)])


def gradient_norms_summed_loss(model, x, y):
    kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, model(x)))
    return np.array([float(tf.norm(g)) for g in tape.gradient(loss, kernels)])


def weight_norms(model, x, y):  # the norms of the weights, not of their gradients
    return np.array([float(tf.norm(layer.kernel)) for layer in model.layers if hasattr(layer, "kernel")])


def clip_always_rescale(g, max_norm):  # rescales even when the norm is already small
    return g * max_norm / np.sqrt(np.sum(g ** 2))


def clip_per_row(g, max_norm):
    norm = np.sqrt(np.sum(g ** 2, axis=-1, keepdims=True))
    return g * max_norm / np.maximum(norm, max_norm)


def clip_global_each_alone(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    return [clip_by_norm(g, max_norm) for g in grads], norm


def clip_global_norm_after(grads, max_norm):
    clipped, _ = clip_by_global_norm(grads, max_norm)
    return clipped, np.sqrt(sum(np.sum(g ** 2) for g in clipped))


def gradient_norms_inference_mode(model, x, y):
    kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
    return np.array([float(tf.norm(g)) for g in tape.gradient(loss, kernels)])


def block_stride_on_second_conv(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.BatchNormalization()(
            layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x))
    return layers.ReLU()(layers.Add()([y, shortcut]))


def block_relu_before_bn(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(layers.ReLU()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.BatchNormalization()(
            layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x))
    return layers.ReLU()(layers.Add()([y, shortcut]))


def block_always_projects(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
    shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x))
    return layers.ReLU()(layers.Add()([y, shortcut]))


def block_without_projection(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
    return layers.ReLU()(layers.Add()([y, x]))


def block_no_final_relu(x, filters, stride=1):
    return residual_block(x, filters, stride)._keras_history[0].input  # the Add's output


def block_with_biases(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, strides=stride, padding="same")(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same")(y))
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=stride)(x))
    return layers.ReLU()(layers.Add()([y, shortcut]))


def block_plain(x, filters, stride=1):  # no shortcut at all
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
    return layers.ReLU()(y)


def block_returns_model(x, filters, stride=1):
    return keras.Model(x, residual_block(x, filters, stride))

CORRECT = [
    (q1, weight_penalty), (q1, weight_penalty_tf), (q1, weight_penalty_keras_regularizer),
    (q1, weight_penalty_by_path),
    (q2, dropout), (q2, dropout_binomial), (q2, dropout_uniform),
    (q3, spatial_dropout), (q3, spatial_dropout_binomial), (q3, spatial_dropout_where),
    (q4, gradient_norms), (q4, gradient_norms_linalg), (q4, gradient_norms_all_then_pick),
    (q5, CLIPS),
    (q5, {"clip_by_value": clip_by_value_minmax, "clip_by_norm": clip_by_norm_if,
          "clip_by_global_norm": clip_by_global_norm_concat}),
    (q5, {"clip_by_value": clip_by_value_tf, "clip_by_norm": clip_by_norm_tf,
          "clip_by_global_norm": clip_by_global_norm_tf}),
    (q6, residual_block), (q6, residual_block_tf_relu), (q6, residual_block_keras_relu),
    (q6, residual_block_ops_relu),
]


WRONG = [
    (q1, {"weight_penalty": penalty_with_half}, "does not match the penalty Keras adds"),
    (q1, {"weight_penalty": penalty_from_model_losses}, "not the l1 and l2 it is given"),
    (q1, {"weight_penalty": penalty_on_all_weights}, "only kernels"),
    (q1, {"weight_penalty": penalty_without_abs}, "l1=0.01, l2=0.0"),
    (q2, {"dropout": dropout_without_scaling}, "kept entries are not scaled"),
    (q2, {"dropout": dropout_keep_prob_swapped}, "probability of DROPPING"),
    (q2, {"dropout": dropout_old_style}, "inference must return x unchanged"),
    (q2, {"dropout": dropout_global_rng}, "draw the mask from `rng`"),
    (q2, {"dropout": dropout_in_place}, "changed its input `x` in place"),
    (q3, {"spatial_dropout": spatial_per_element}, "only partly zero"),
    (q3, {"spatial_dropout": spatial_shared_mask}, "every sample dropped the same channels"),
    (q3, {"spatial_dropout": spatial_unscaled}, "kept maps are not scaled"),
    (q4, {"gradient_norms": gradient_norms_with_biases}, "no biases"),
    (q4, {"gradient_norms": gradient_norms_summed_loss}, "gradient_norms on a 4-Dense sigmoid network"),
    (q4, {"gradient_norms": weight_norms}, "is wrong at"),
    (q4, {"gradient_norms": gradient_norms_inference_mode}, "model(x, training=True)"),
    (q5, dict(CLIPS, clip_by_norm=clip_always_rescale), "norm below max_norm"),
    (q5, dict(CLIPS, clip_by_norm=clip_per_row), "clip_by_norm on a (4, 6) gradient with norm above"),
    (q5, dict(CLIPS, clip_by_global_norm=clip_global_each_alone), "every gradient is scaled by the same factor"),
    (q5, dict(CLIPS, clip_by_global_norm=clip_global_norm_after), "measured before clipping"),
    (q5, dict(CLIPS, clip_by_value=lambda g, limit: np.minimum(g, limit)), "clip_by_value(g of shape (4, 6), limit=0.5)"),
    (q6, {"residual_block": block_always_projects}, "the shortcut should be the identity"),
    (q6, {"residual_block": block_stride_on_second_conv}, "the stride is on the second 3x3"),
    (q6, {"residual_block": block_relu_before_bn}, "the block's output on input (16, 16, 8)"),
    (q6, {"residual_block": block_without_projection}, "raised ValueError"),
    (q6, {"residual_block": block_no_final_relu}, "it needs two: after the first BatchNorm and after the Add"),
    (q6, {"residual_block": block_with_biases}, "parameters"),
    (q6, {"residual_block": block_plain}, "exactly one Add layer"),
    (q6, {"residual_block": block_returns_model}, "it should return the output tensor"),
]


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson12, CORRECT, WRONG)
