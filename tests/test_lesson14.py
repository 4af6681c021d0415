"""Lesson 14 (what a CNN learns): correct answers PASS, plausible wrong answers FAIL with a specific message."""
import keras
import numpy as np
import tensorflow as tf
from helpers import answer_tests

from utils.checks import lesson14
from utils.checks.lesson14 import q1, q2, q3, q4, q5, q6, q7


# ----------------------------------------------------------------------------- q1 feature maps
def feature_maps(model, image, layer_names):
    probe = keras.Model(model.input, {n: model.get_layer(n).output for n in layer_names})
    maps = probe(image[None])
    return {n: np.asarray(maps[n])[0] for n in layer_names}


def feature_maps_one_by_one(model, image, layer_names):  # one probe model per layer, predict()
    out = {}
    for name in layer_names:
        probe = keras.Model(model.inputs, model.get_layer(name).output)
        out[name] = probe.predict(image[None], verbose=0)[0]
    return out


def feature_maps_by_hand(model, image, layer_names):  # walk the layers, keep tensors
    x, out = tf.constant(image[None]), {}
    for layer in model.layers[1:]:  # after the InputLayer
        x = layer(x)
        if layer.name in layer_names:
            out[layer.name] = x[0]
    return out


def feature_maps_list(model, image, layer_names):  # a list of one output comes back as a tensor
    probe = keras.Model(model.input, [model.get_layer(n).output for n in layer_names])
    return {n: np.asarray(m)[0] for n, m in zip(layer_names, probe(image[None]))}


def feature_maps_batch_axis(model, image, layer_names):
    probe = keras.Model(model.input, {n: model.get_layer(n).output for n in layer_names})
    return {n: np.asarray(m) for n, m in probe(image[None]).items()}


def feature_maps_as_list(model, image, layer_names):
    return list(feature_maps(model, image, layer_names).values())


def feature_maps_last_layer(model, image, layer_names):  # the same (deepest) maps for every name
    probe = keras.Model(model.input, model.get_layer("conv_b").output)
    return {n: np.asarray(probe(image[None]))[0] for n in layer_names}


# ----------------------------------------------------------------------------- q2 translation
BEHAVIOUR = {"conv": "equivariant", "conv_pool_even": "equivariant", "conv_pool_odd": "neither",
             "global_max": "invariant", "flatten_dense": "neither"}


def shift(images, dy, dx):
    out = np.zeros_like(images)
    h, w = images.shape[1:3]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def shift_by_padding(images, dy, dx):  # pad with zeros, then crop the window back
    h, w = images.shape[1:3]
    padded = np.pad(images, ((0, 0), (abs(dy),) * 2, (abs(dx),) * 2, (0, 0)))
    top, left = abs(dy) - dy, abs(dx) - dx
    return padded[:, top:top + h, left:left + w]


def shift_with_tf(images, dy, dx):  # tf.roll, then zero what wrapped around
    rolled = tf.roll(tf.constant(images), shift=[dy, dx], axis=[1, 2]).numpy()
    h, w = images.shape[1:3]
    rows, cols = np.arange(h), np.arange(w)
    keep = ((rows - dy >= 0) & (rows - dy < h))[:, None] & ((cols - dx >= 0) & (cols - dx < w))[None]
    return rolled * keep[None, :, :, None]


def shift_roll(images, dy, dx):
    return np.roll(images, (dy, dx), axis=(1, 2))


def shift_swapped(images, dy, dx):  # dy moves the columns
    return shift(images, dx, dy)


def shift_in_place(images, dy, dx):
    images[:] = shift(images.copy(), dy, dx)
    return images


# ----------------------------------------------------------------------------- q3 saliency
def saliency(model, image, class_index):
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x)[0, class_index]
    return tf.reduce_max(tf.abs(tape.gradient(score, x)[0]), axis=-1)


def saliency_variable(model, image, class_index):  # a Variable, float64 NumPy result
    x = tf.Variable(image[None].astype("float32"))
    with tf.GradientTape() as tape:
        score = model(x, training=False)[:, class_index]
    return np.abs(tape.gradient(score, x).numpy()[0].astype(np.float64)).max(axis=-1)


def saliency_keras_ops(model, image, class_index):  # keras.ops and a one-hot product
    x = tf.convert_to_tensor(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = keras.ops.sum(model(x) * keras.ops.one_hot([class_index], model.output_shape[-1]))
    return keras.ops.convert_to_numpy(keras.ops.max(keras.ops.abs(tape.gradient(score, x)), axis=-1))[0]


def saliency_of_softmax(model, image, class_index):
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.nn.softmax(model(x))[0, class_index]
    return tf.reduce_max(tf.abs(tape.gradient(score, x)[0]), axis=-1)


def saliency_signed(model, image, class_index):
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x)[0, class_index]
    return tf.reduce_max(tape.gradient(score, x)[0], axis=-1)


def saliency_sum_channels(model, image, class_index):
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x)[0, class_index]
    return tf.reduce_sum(tf.abs(tape.gradient(score, x)[0]), axis=-1)


def saliency_keeps_channels(model, image, class_index):
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x)[0, class_index]
    return tf.abs(tape.gradient(score, x)[0])


# ----------------------------------------------------------------------------- q4 Grad-CAM
def grad_cam(model, image, class_index, layer_name, relu=True):
    probe = keras.Model(model.input, [model.get_layer(layer_name).output, model.outputs[0]])
    with tf.GradientTape() as tape:
        maps, logits = probe(image[None])
        score = logits[0, class_index]
    weights = tf.reduce_mean(tape.gradient(score, maps)[0], axis=(0, 1))
    cam = tf.reduce_sum(maps[0] * weights, axis=-1)
    if relu:
        cam = tf.nn.relu(cam)
    return tf.image.resize(cam[..., None], image.shape[:2], method="bilinear")[..., 0]


def grad_cam_numpy(model, image, class_index, layer_name, relu=True):  # NumPy after the tape
    probe = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.output])
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        maps, logits = probe(x, training=False)
        score = logits[:, class_index]
    grads = tape.gradient(score, maps).numpy()[0]
    maps = maps.numpy()[0]
    cam = np.einsum("hwk,k->hw", maps, grads.mean(axis=(0, 1)))
    cam = np.maximum(cam, 0) if relu else cam
    return tf.image.resize(cam[:, :, np.newaxis], image.shape[:2]).numpy()[:, :, 0]


def grad_cam_keras_ops(model, image, class_index, layer_name, relu=True):  # keras.ops resize
    probe = keras.Model(model.input, [model.get_layer(layer_name).output, model.outputs[0]])
    with tf.GradientTape() as tape:
        maps, logits = probe(tf.constant(image[None]))
        score = logits[0][class_index]
    grads = tape.gradient(score, maps)
    weights = keras.ops.mean(grads, axis=(1, 2), keepdims=True)
    cam = keras.ops.sum(maps * weights, axis=-1, keepdims=True)
    if relu:
        cam = keras.ops.relu(cam)
    return keras.ops.image.resize(cam, image.shape[:2], interpolation="bilinear")[0, ..., 0]


def grad_cam_no_relu(model, image, class_index, layer_name, relu=True):
    return grad_cam(model, image, class_index, layer_name, relu=False)


def grad_cam_summed_weights(model, image, class_index, layer_name, relu=True):
    probe = keras.Model(model.input, [model.get_layer(layer_name).output, model.outputs[0]])
    with tf.GradientTape() as tape:
        maps, logits = probe(image[None])
        score = logits[0, class_index]
    weights = tf.reduce_sum(tape.gradient(score, maps)[0], axis=(0, 1))
    cam = tf.reduce_sum(maps[0] * weights, axis=-1)
    cam = tf.nn.relu(cam) if relu else cam
    return tf.image.resize(cam[..., None], image.shape[:2], method="bilinear")[..., 0]


def grad_cam_nearest(model, image, class_index, layer_name, relu=True):
    probe = keras.Model(model.input, [model.get_layer(layer_name).output, model.outputs[0]])
    with tf.GradientTape() as tape:
        maps, logits = probe(image[None])
        score = logits[0, class_index]
    weights = tf.reduce_mean(tape.gradient(score, maps)[0], axis=(0, 1))
    cam = tf.reduce_sum(maps[0] * weights, axis=-1)
    cam = tf.nn.relu(cam) if relu else cam
    return tf.image.resize(cam[..., None], image.shape[:2], method="nearest")[..., 0]


def grad_cam_normalised(model, image, class_index, layer_name, relu=True):
    cam = grad_cam(model, image, class_index, layer_name, relu)
    return cam / (tf.reduce_max(cam) + 1e-12)


def grad_cam_not_upsampled(model, image, class_index, layer_name, relu=True):
    probe = keras.Model(model.input, [model.get_layer(layer_name).output, model.outputs[0]])
    with tf.GradientTape() as tape:
        maps, logits = probe(image[None])
        score = logits[0, class_index]
    weights = tf.reduce_mean(tape.gradient(score, maps)[0], axis=(0, 1))
    return tf.nn.relu(tf.reduce_sum(maps[0] * weights, axis=-1))


def grad_cam_always_relu(model, image, class_index, layer_name, relu=True):
    return grad_cam(model, image, class_index, layer_name, relu=True)


# ----------------------------------------------------------------------------- q5 occlusion
def occlusion_map(model, image, class_index, patch, stride, baseline):
    h, w = image.shape[:2]
    rows, cols = range(0, h - patch + 1, stride), range(0, w - patch + 1, stride)
    batch = []
    for i in rows:
        for j in cols:
            covered = image.copy()
            covered[i:i + patch, j:j + patch, :] = baseline
            batch.append(covered)
    scores = model.predict(np.stack(batch), verbose=0)[:, class_index]
    original = model.predict(image[None], verbose=0)[0, class_index]
    return (original - scores).reshape(len(rows), len(cols))


def occlusion_loop(model, image, class_index, patch, stride, baseline):  # one call per position
    h, w = image.shape[:2]
    n_rows, n_cols = (h - patch) // stride + 1, (w - patch) // stride + 1
    original = float(model(image[None])[0, class_index])
    out = np.zeros((n_rows, n_cols), np.float64)
    for a in range(n_rows):
        for b in range(n_cols):
            covered = np.array(image, dtype=np.float64)
            covered[a * stride:a * stride + patch, b * stride:b * stride + patch] = baseline
            out[a, b] = original - float(model(covered[None].astype("float32"))[0, class_index])
    return out


def occlusion_masks(model, image, class_index, patch, stride, baseline):  # masks, tf tensors
    h, w = image.shape[:2]
    corners = [(i, j) for i in range(0, h - patch + 1, stride) for j in range(0, w - patch + 1, stride)]
    masks = np.zeros((len(corners), h, w, 1), np.float32)
    for k, (i, j) in enumerate(corners):
        masks[k, i:i + patch, j:j + patch] = 1
    batch = image[None] * (1 - masks) + baseline * masks
    scores = model(tf.constant(batch))[:, class_index]
    drop = model(image[None])[0, class_index] - scores
    return tf.reshape(drop, (len(range(0, h - patch + 1, stride)), -1))


def occlusion_flipped(model, image, class_index, patch, stride, baseline):
    return -occlusion_map(model, image, class_index, patch, stride, baseline)


def occlusion_zero_fill(model, image, class_index, patch, stride, baseline):
    return occlusion_map(model, image, class_index, patch, stride, 0.0)


def occlusion_off_by_one(model, image, class_index, patch, stride, baseline):  # misses the last row
    h, w = image.shape[:2]
    out = occlusion_map(model, image, class_index, patch, stride, baseline)
    return out[:len(range(0, h - patch, stride)), :len(range(0, w - patch, stride))]


def occlusion_probabilities(model, image, class_index, patch, stride, baseline):
    class Probs:
        def predict(self, x, verbose=0):
            return tf.nn.softmax(model(x)).numpy()
    return occlusion_map(Probs(), image, class_index, patch, stride, baseline)


# ----------------------------------------------------------------------------- q6 gradient ascent
def gradient_ascent(model, layer_name, channel, start, steps, lr):
    probe = keras.Model(model.input, model.get_layer(layer_name).output)
    x = tf.Variable(start[None])
    for _ in range(steps):
        with tf.GradientTape() as tape:
            objective = tf.reduce_mean(probe(x)[..., channel])
        g = tape.gradient(objective, x)
        x.assign(tf.clip_by_value(x + lr * g / (tf.sqrt(tf.reduce_mean(g ** 2)) + 1e-8), 0.0, 1.0))
    return x.numpy()[0]


def gradient_ascent_numpy(model, layer_name, channel, start, steps, lr):  # NumPy image, float64
    probe = keras.Model(model.inputs, model.get_layer(layer_name).output)
    x = np.array(start, dtype=np.float64)
    for _ in range(steps):
        t = tf.constant(x[None], tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(t)
            objective = tf.reduce_mean(probe(t)[0, :, :, channel])
        g = tape.gradient(objective, t).numpy()[0].astype(np.float64)
        x = np.clip(x + lr * g / (np.sqrt(np.mean(g ** 2)) + 1e-8), 0, 1)
    return x


def gradient_ascent_l2(model, layer_name, channel, start, steps, lr):  # L2-normalised, scaled step
    probe = keras.Model(model.input, model.get_layer(layer_name).output)
    x = tf.Variable(start[None])
    n = float(np.sqrt(start.size))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            objective = tf.reduce_mean(probe(x)[..., channel])
        g = tape.gradient(objective, x)
        x.assign(tf.clip_by_value(x + lr * n * tf.math.l2_normalize(g), 0.0, 1.0))
    return x.numpy()[0]


def gradient_descent(model, layer_name, channel, start, steps, lr):  # the wrong direction
    return gradient_ascent(model, layer_name, channel, start, steps, -lr)


def gradient_ascent_raw_step(model, layer_name, channel, start, steps, lr):  # no normalisation
    probe = keras.Model(model.input, model.get_layer(layer_name).output)
    x = tf.Variable(start[None])
    for _ in range(steps):
        with tf.GradientTape() as tape:
            objective = tf.reduce_mean(probe(x)[..., channel])
        x.assign(tf.clip_by_value(x + lr * tape.gradient(objective, x), 0.0, 1.0))
    return x.numpy()[0]


def gradient_ascent_no_clip(model, layer_name, channel, start, steps, lr):
    probe = keras.Model(model.input, model.get_layer(layer_name).output)
    x = tf.Variable(start[None])
    for _ in range(steps):
        with tf.GradientTape() as tape:
            objective = tf.reduce_mean(probe(x)[..., channel])
        g = tape.gradient(objective, x)
        x.assign_add(lr * g / (tf.sqrt(tf.reduce_mean(g ** 2)) + 1e-8))
    return x.numpy()[0]


def gradient_ascent_all_channels(model, layer_name, channel, start, steps, lr):
    probe = keras.Model(model.input, model.get_layer(layer_name).output)
    x = tf.Variable(start[None])
    for _ in range(steps):
        with tf.GradientTape() as tape:
            objective = tf.reduce_mean(probe(x))
        g = tape.gradient(objective, x)
        x.assign(tf.clip_by_value(x + lr * g / (tf.sqrt(tf.reduce_mean(g ** 2)) + 1e-8), 0.0, 1.0))
    return x.numpy()[0]


def gradient_ascent_in_place(model, layer_name, channel, start, steps, lr):
    start[:] = gradient_ascent(model, layer_name, channel, start, steps, lr)
    return start


# ----------------------------------------------------------------------------- q7 locate the shortcut
def locate_shortcut(model, images, class_index):
    mean_map = np.mean([np.asarray(saliency(model, im, class_index)) for im in images], axis=0)
    row, col = np.unravel_index(np.argmax(mean_map), mean_map.shape)
    return int(row), int(col)


def locate_by_occlusion(model, images, class_index):  # 1x1 occlusion, absolute drop
    drops = np.mean([np.abs(occlusion_map(model, im, class_index, 1, 1, 0.0)) for im in images], axis=0)
    return np.array(np.unravel_index(np.argmax(drops), drops.shape))


def locate_batch_gradient(model, images, class_index):  # one tape over the whole batch, floats
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(model(x)[:, class_index])
    grads = np.abs(tape.gradient(total, x).numpy()).sum(axis=(0, 3))
    flat = int(np.argmax(grads))
    return [float(flat // grads.shape[1]), float(flat % grads.shape[1])]


def locate_swapped(model, images, class_index):
    row, col = locate_shortcut(model, images, class_index)
    return col, row


def locate_signed(model, images, class_index):  # the most positive gradient only
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(model(x)[:, class_index])
    grads = tape.gradient(total, x).numpy().sum(axis=(0, 3))
    return tuple(int(v) for v in np.unravel_index(np.argmax(grads), grads.shape))


def locate_brightest(model, images, class_index):  # where the images are brightest
    mean = images.mean(axis=(0, 3))
    return tuple(int(v) for v in np.unravel_index(np.argmax(mean), mean.shape))


def locate_flat_index(model, images, class_index):
    mean_map = np.mean([np.asarray(saliency(model, im, class_index)) for im in images], axis=0)
    return int(np.argmax(mean_map))


# ----------------------------------------------------------------------------- tables
CORRECT = [
    (q1, feature_maps), (q1, feature_maps_one_by_one), (q1, feature_maps_by_hand),
    (q2, {"shift": shift, "shift_behaviour": BEHAVIOUR}),
    (q2, {"shift": shift_by_padding, "shift_behaviour": {k: v.upper() for k, v in BEHAVIOUR.items()}}),
    (q2, {"shift": shift_with_tf, "shift_behaviour": dict(BEHAVIOUR, extra="neither")}),
    (q3, saliency), (q3, saliency_variable), (q3, saliency_keras_ops),
    (q4, grad_cam), (q4, grad_cam_numpy), (q4, grad_cam_keras_ops),
    (q5, occlusion_map), (q5, occlusion_loop), (q5, occlusion_masks),
    (q6, gradient_ascent), (q6, gradient_ascent_numpy), (q6, gradient_ascent_l2),
    (q7, locate_shortcut), (q7, locate_by_occlusion), (q7, locate_batch_gradient),
]

WRONG = [
    (q1, feature_maps_list, "a model built with a list of ONE output returns a tensor"),
    (q1, feature_maps_batch_axis, "still has the batch axis"),
    (q1, feature_maps_as_list, "it should return a dict"),
    (q1, feature_maps_last_layer, "feature_maps(...)['pool_a']"),
    (q2, {"shift": shift_roll, "shift_behaviour": BEHAVIOUR}, "come back at the other"),
    (q2, {"shift": shift_swapped, "shift_behaviour": BEHAVIOUR}, "shift(images, dy=2, dx=1)"),
    (q2, {"shift": shift_in_place, "shift_behaviour": BEHAVIOUR}, "changed its input in place"),
    (q2, {"shift": shift, "shift_behaviour": dict(BEHAVIOUR, conv_pool_odd="equivariant")},
     "shift_behaviour['conv_pool_odd'] is not what the model does"),
    (q2, {"shift": shift, "shift_behaviour": dict(BEHAVIOUR, global_max="equivariant")},
     "shift_behaviour['global_max']"),
    (q2, {"shift": shift, "shift_behaviour": {"conv": "equivariant"}}, "has no entry for"),
    (q2, {"shift": shift, "shift_behaviour": dict(BEHAVIOUR, conv="equivarient")}, "should be one of"),
    (q3, saliency_of_softmax, "gradient of the softmax probability"),
    (q3, saliency_signed, "the absolute value is missing"),
    (q3, saliency_sum_channels, "it sums the channels"),
    (q3, saliency_keeps_channels, "it should have shape (10, 12)"),
    (q4, grad_cam_no_relu, "the ReLU is missing"),
    (q4, grad_cam_summed_weights, "sums of the gradient, not means"),
    (q4, grad_cam_nearest, "nearest neighbours"),
    (q4, grad_cam_normalised, "it is normalised"),
    (q4, grad_cam_not_upsampled, "it should have shape (12, 12)"),
    (q4, grad_cam_always_relu, "it still applies the ReLU"),
    (q5, occlusion_flipped, "the sign is flipped"),
    (q5, occlusion_zero_fill, "not with `baseline`"),
    (q5, occlusion_off_by_one, "it should have shape (8, 10)"),
    (q5, occlusion_probabilities, "occlusion_map on a model that reads only"),
    (q6, gradient_descent, "normalised gradient ASCENT"),
    (q6, gradient_ascent_raw_step, "raises the channel's mean activation"),
    (q6, gradient_ascent_no_clip, "outside [0, 1]"),
    (q6, gradient_ascent_all_channels, "channel 0 (a vertical-edge channel)"),
    (q6, gradient_ascent_in_place, "changed `start` in place"),
    (q7, locate_swapped, "should be (row, column)"),
    (q7, locate_signed, "the pixel pushes the class down"),
    (q7, locate_brightest, "does not rely most on pixel"),
    (q7, locate_flat_index, "it should return a pair (row, col)"),
]

(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = answer_tests(lesson14, CORRECT, WRONG)


def test_every_method_points_at_the_region_a_model_reads():
    """By construction: a model that reads only one region gives zero saliency, Grad-CAM and
    occlusion drop outside it (the premise of the checks of exercises 3 to 5)."""
    model = lesson14._region_model((10, 12, 3), ((2, 4), (5, 3)), 3, 0)
    image = np.random.default_rng(0).random((10, 12, 3)).astype(np.float32)
    outside = np.ones((10, 12), bool)
    outside[2:6, 5:9] = False
    assert np.all(lesson14.reference_saliency(model, image, 1)[outside] == 0)
    near = np.ones((10, 12), bool)
    near[1:7, 4:10] = False  # the 3x3 convolution reaches one pixel beyond the region
    assert np.allclose(lesson14.reference_grad_cam(model, image, 1, "last_conv")[near], 0)
    covered, original = lesson14.reference_occlusion(model, image, 1, 2, 1, 0.0)
    drops = original - covered
    assert np.allclose(drops[:, :3], 0, atol=1e-6) and np.abs(drops[2:5, 5:8]).max() > 0
