"""Lesson 13 (modern architectures): correct answers PASS, plausible wrong answers FAIL with a
specific message."""
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from helpers import answer_tests
from utils.checks import lesson13
from utils.checks.lesson13 import q1, q2, q3, q4, q5, q6


# ----------------------------------------------------------------------------- q1 VGG block
def vgg_block(x, filters, n_convs):
    for _ in range(n_convs):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return layers.MaxPooling2D(2)(x)


def vgg_block_separate_relu(x, filters, n_convs):
    for _ in range(n_convs):
        x = layers.ReLU()(layers.Conv2D(filters, (3, 3), strides=1, padding="same")(x))
    return layers.MaxPool2D(pool_size=(2, 2), strides=(2, 2), padding="valid")(x)


def vgg_block_tf_relu(x, filters, n_convs):
    convs = [layers.Conv2D(filters, 3, padding="same") for _ in range(n_convs)]
    for conv in convs:
        x = layers.Activation(tf.nn.relu)(conv(x))
    return layers.MaxPooling2D()(x)


def vgg_5x5(x, filters, n_convs):
    for _ in range(n_convs):
        x = layers.Conv2D(filters, 5, padding="same", activation="relu")(x)
    return layers.MaxPooling2D(2)(x)


def vgg_valid(x, filters, n_convs):
    for _ in range(n_convs):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
    return layers.MaxPooling2D(2)(x)


def vgg_no_pool(x, filters, n_convs):
    for _ in range(n_convs):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return x


def vgg_pool_before_relu(x, filters, n_convs):
    for i in range(n_convs):
        x = layers.Conv2D(filters, 3, padding="same")(x)
        if i < n_convs - 1:
            x = layers.ReLU()(x)
    return layers.ReLU()(layers.MaxPooling2D(2)(x))


def vgg_no_bias(x, filters, n_convs):
    for _ in range(n_convs):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", use_bias=False)(x)
    return layers.MaxPooling2D(2)(x)


def vgg_returns_model(x, filters, n_convs):
    return keras.Model(x, vgg_block(x, filters, n_convs))


# ----------------------------------------------------------------------------- q2 Inception
def inception_module(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj):
    b1 = layers.Conv2D(f1, 1, activation="relu")(x)
    b3 = layers.Conv2D(f3_reduce, 1, activation="relu")(x)
    b3 = layers.Conv2D(f3, 3, padding="same", activation="relu")(b3)
    b5 = layers.Conv2D(f5_reduce, 1, activation="relu")(x)
    b5 = layers.Conv2D(f5, 5, padding="same", activation="relu")(b5)
    bp = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    bp = layers.Conv2D(pool_proj, 1, activation="relu")(bp)
    return layers.Concatenate()([b1, b3, b5, bp])


def inception_built_backwards(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj):
    # the branches created in another order, separate ReLU layers, layers.concatenate
    def conv(width, size, inp):
        return layers.ReLU()(layers.Conv2D(width, size, padding="same")(inp))

    bp = conv(pool_proj, 1, layers.MaxPool2D((3, 3), strides=(1, 1), padding="same")(x))
    b5 = conv(f5, 5, conv(f5_reduce, 1, x))
    b3 = conv(f3, 3, conv(f3_reduce, 1, x))
    b1 = conv(f1, 1, x)
    return layers.concatenate([b1, b3, b5, bp], axis=-1)


def inception_explicit_axis(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj):
    relu = "relu"
    branches = [
        layers.Conv2D(f1, (1, 1), activation=relu)(x),
        layers.Conv2D(f3, (3, 3), padding="same", activation=relu)(
            layers.Conv2D(f3_reduce, (1, 1), activation=relu)(x)),
        layers.Conv2D(f5, (5, 5), padding="same", activation=relu)(
            layers.Conv2D(f5_reduce, (1, 1), activation=relu)(x)),
        layers.Conv2D(pool_proj, (1, 1), activation=relu)(
            layers.MaxPooling2D(pool_size=3, strides=1, padding="same")(x)),
    ]
    return layers.Concatenate(axis=3)(branches)


def inception_wrong_order(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj):
    out = inception_module(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj)
    concat = out._keras_history[0]
    b1, b3, b5, bp = concat.input
    return layers.Concatenate()([b3, b1, b5, bp])


def inception_no_reduction(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj):
    b1 = layers.Conv2D(f1, 1, activation="relu")(x)
    b3 = layers.Conv2D(f3, 3, padding="same", activation="relu")(x)
    b5 = layers.Conv2D(f5, 5, padding="same", activation="relu")(x)
    bp = layers.Conv2D(pool_proj, 1, activation="relu")(
        layers.MaxPooling2D(3, strides=1, padding="same")(x))
    return layers.Concatenate()([b1, b3, b5, bp])


def inception_pool_default_stride(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj):
    b1 = layers.Conv2D(f1, 1, activation="relu")(x)
    b3 = layers.Conv2D(f3, 3, padding="same", activation="relu")(
        layers.Conv2D(f3_reduce, 1, activation="relu")(x))
    b5 = layers.Conv2D(f5, 5, padding="same", activation="relu")(
        layers.Conv2D(f5_reduce, 1, activation="relu")(x))
    bp = layers.Conv2D(pool_proj, 1, activation="relu")(layers.MaxPooling2D(3, padding="same")(x))
    return layers.Concatenate()([b1, b3, b5, bp])


def inception_added(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj):  # sum instead of concat
    out = inception_module(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj)
    b1, b3, b5, bp = out._keras_history[0].input
    width = min(f1, f3, f5, pool_proj)
    return layers.Add()([layers.Conv2D(width, 1)(b) for b in (b1, b3, b5, bp)])


def inception_pool_proj_from_x(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj):
    b1 = layers.Conv2D(f1, 1, activation="relu")(x)
    b3 = layers.Conv2D(f3, 3, padding="same", activation="relu")(
        layers.Conv2D(f3_reduce, 1, activation="relu")(x))
    b5 = layers.Conv2D(f5, 5, padding="same", activation="relu")(
        layers.Conv2D(f5_reduce, 1, activation="relu")(x))
    bp = layers.MaxPooling2D(3, strides=1, padding="same")(
        layers.Conv2D(pool_proj, 1, activation="relu")(x))  # pool after the projection
    return layers.Concatenate()([b1, b3, b5, bp])


# ----------------------------------------------------------------------------- q3 bottleneck
def bottleneck_block(x, filters, stride=1):
    shortcut = x
    if stride != 1 or x.shape[-1] != 4 * filters:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    y = layers.Conv2D(filters, 1, use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(y)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(4 * filters, 1, use_bias=False)(y))
    return layers.ReLU()(layers.Add()([y, shortcut]))


def bottleneck_main_first(x, filters, stride=1):
    # main path built first, Activation layers, layers.add, the shortcut added first
    def conv_bn(inp, width, size, strides=1):
        inp = layers.Conv2D(width, size, strides=strides, padding="same", use_bias=False)(inp)
        return layers.BatchNormalization()(inp)

    y = layers.Activation("relu")(conv_bn(x, filters, 1))
    y = layers.Activation("relu")(conv_bn(y, filters, 3, stride))
    y = conv_bn(y, 4 * filters, 1)
    s = x if (stride == 1 and x.shape[-1] == 4 * filters) else conv_bn(x, 4 * filters, 1, stride)
    return layers.Activation("relu")(layers.add([s, y]))


def bottleneck_tf_relu(x, filters, stride=1):
    bn = layers.BatchNormalization
    y = layers.Activation(tf.nn.relu)(bn()(layers.Conv2D(filters, (1, 1), use_bias=False)(x)))
    y = layers.Activation(tf.nn.relu)(bn()(layers.Conv2D(
        filters, (3, 3), strides=(stride, stride), padding="same", use_bias=False)(y)))
    y = bn()(layers.Conv2D(4 * filters, (1, 1), use_bias=False)(y))
    if stride > 1 or x.shape[-1] != 4 * filters:
        x = bn()(layers.Conv2D(4 * filters, (1, 1), strides=(stride, stride), padding="valid",
                               use_bias=False)(x))
    return layers.ReLU()(layers.Add()([x, y]))


def bottleneck_stride_on_first(x, filters, stride=1):  # the original / keras.applications place
    shortcut = x
    if stride != 1 or x.shape[-1] != 4 * filters:
        shortcut = layers.BatchNormalization()(
            layers.Conv2D(4 * filters, 1, strides=stride, use_bias=False)(x))
    y = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(4 * filters, 1, use_bias=False)(y))
    return layers.ReLU()(layers.Add()([y, shortcut]))


def bottleneck_projects_only_on_stride(x, filters, stride=1):
    shortcut = x
    if stride != 1:
        shortcut = layers.BatchNormalization()(
            layers.Conv2D(4 * filters, 1, strides=stride, use_bias=False)(x))
    y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(x)))
    y = layers.ReLU()(layers.BatchNormalization()(
        layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(y)))
    y = layers.BatchNormalization()(layers.Conv2D(4 * filters, 1, use_bias=False)(y))
    return layers.ReLU()(layers.Add()([y, shortcut]))


def bottleneck_relu_before_add(x, filters, stride=1):
    out = bottleneck_block(x, filters, stride)
    add = out._keras_history[0].input._keras_history[0]
    y, shortcut = add.input
    return layers.ReLU()(layers.Add()([layers.ReLU()(y), shortcut]))


def bottleneck_with_biases(x, filters, stride=1):
    shortcut = x
    if stride != 1 or x.shape[-1] != 4 * filters:
        shortcut = layers.BatchNormalization()(layers.Conv2D(4 * filters, 1, strides=stride)(x))
    y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(filters, 1)(x)))
    y = layers.ReLU()(layers.BatchNormalization()(
        layers.Conv2D(filters, 3, strides=stride, padding="same")(y)))
    y = layers.BatchNormalization()(layers.Conv2D(4 * filters, 1)(y))
    return layers.ReLU()(layers.Add()([y, shortcut]))


# ----------------------------------------------------------------------------- q4 inverted residual
def inverted_residual_activation_relu6(x, expansion, filters, stride=1):
    y = x
    if expansion > 1:
        y = layers.Activation("relu6")(layers.BatchNormalization()(
            layers.Conv2D(expansion * x.shape[-1], (1, 1), padding="same", use_bias=False)(y)))
    y = layers.Activation(tf.nn.relu6)(layers.BatchNormalization()(layers.DepthwiseConv2D(
        (3, 3), strides=(stride, stride), padding="same", use_bias=False, depth_multiplier=1)(y)))
    y = layers.BatchNormalization()(layers.Conv2D(filters, (1, 1), use_bias=False)(y))
    return layers.add([y, x]) if stride == 1 and x.shape[-1] == filters else y


def inverted_residual_relu_max(x, expansion, filters, stride=1):
    residual = stride == 1 and x.shape[-1] == filters
    y = x
    if expansion != 1:
        y = layers.Conv2D(x.shape[-1] * expansion, 1, use_bias=False)(y)
        y = layers.ReLU(max_value=6)(layers.BatchNormalization()(y))
    y = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(y)
    y = layers.ReLU(max_value=6)(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, 1, use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    return layers.Add()([y, x]) if residual else y


def ir_relu_after_projection(x, expansion, filters, stride=1):  # not a linear bottleneck
    c_in = x.shape[-1]
    y = x
    if expansion != 1:
        y = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(c_in * expansion, 1, use_bias=False)(y)))
    y = layers.ReLU(6.0)(layers.BatchNormalization()(
        layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(y)))
    y = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(y)))
    return layers.Add()([x, y]) if stride == 1 and c_in == filters else y


def ir_plain_relu(x, expansion, filters, stride=1):
    c_in = x.shape[-1]
    y = x
    if expansion != 1:
        y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(c_in * expansion, 1, use_bias=False)(y)))
    y = layers.ReLU()(layers.BatchNormalization()(
        layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(y)))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(y))
    return layers.Add()([x, y]) if stride == 1 and c_in == filters else y


def ir_full_conv(x, expansion, filters, stride=1):  # a full 3x3 convolution, not depthwise
    c_in = x.shape[-1]
    y = x
    if expansion != 1:
        y = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(c_in * expansion, 1, use_bias=False)(y)))
    y = layers.ReLU(6.0)(layers.BatchNormalization()(
        layers.Conv2D(y.shape[-1], 3, strides=stride, padding="same", use_bias=False)(y)))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(y))
    return layers.Add()([x, y]) if stride == 1 and c_in == filters else y


def ir_always_expands(x, expansion, filters, stride=1):
    c_in = x.shape[-1]
    y = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(c_in * expansion, 1, use_bias=False)(x)))
    y = layers.ReLU(6.0)(layers.BatchNormalization()(
        layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(y)))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(y))
    return layers.Add()([x, y]) if stride == 1 and c_in == filters else y


def ir_never_adds(x, expansion, filters, stride=1):
    c_in = x.shape[-1]
    y = x
    if expansion != 1:
        y = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(c_in * expansion, 1, use_bias=False)(y)))
    y = layers.ReLU(6.0)(layers.BatchNormalization()(
        layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(y)))
    return layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(y))


# ----------------------------------------------------------------------------- q5 counts
def conv_cost(k, c_in, c_out, h_out, w_out, bias=True):
    params = (k * k * c_in + (1 if bias else 0)) * c_out
    return params, k * k * c_in * c_out * h_out * w_out


def separable_cost(k, c_in, c_out, h_out, w_out):
    params = k * k * c_in + c_in * c_out
    return params, params * h_out * w_out


def conv_cost_numpy(k, c_in, c_out, h_out, w_out, bias=True):
    kernel = np.zeros((k, k, c_in, c_out))
    params = kernel.size + (c_out if bias else 0)
    return np.int64(params), np.float64(kernel.size * h_out * w_out)


def separable_cost_list(k, c_in, c_out, h_out, w_out):
    depthwise, pointwise = k * k * c_in, c_in * c_out
    return [depthwise + pointwise, float(depthwise * h_out * w_out + pointwise * h_out * w_out)]


Q5 = {"conv_cost": conv_cost, "separable_cost": separable_cost,
      "ratio_3x3": 2 * 9 / 25, "ratio_separable": separable_cost(3, 128, 128, 14, 14)[1]
      / conv_cost(3, 128, 128, 14, 14, bias=False)[1], "costlier": "same"}


def conv_cost_no_bias(k, c_in, c_out, h_out, w_out, bias=True):
    return k * k * c_in * c_out, k * k * c_in * c_out * h_out * w_out


def conv_cost_bias_as_mac(k, c_in, c_out, h_out, w_out, bias=True):
    params = (k * k * c_in + (1 if bias else 0)) * c_out
    return params, params * h_out * w_out


def conv_cost_k_not_squared(k, c_in, c_out, h_out, w_out, bias=True):
    params = (k * c_in + (1 if bias else 0)) * c_out
    return params, k * c_in * c_out * h_out * w_out


def separable_as_full(k, c_in, c_out, h_out, w_out):  # depthwise counted like a full conv
    params = k * k * c_in * c_out + c_in * c_out
    return params, params * h_out * w_out


def separable_depthwise_only(k, c_in, c_out, h_out, w_out):
    return k * k * c_in, k * k * c_in * h_out * w_out


# ----------------------------------------------------------------------------- q6 stages
def stage_shapes(model):
    height, width = model.input_shape[1:3]
    stages, k = [], 1
    while height % 2 ** k == 0 and width % 2 ** k == 0:
        size = (height // 2 ** k, width // 2 ** k)
        matches = [tuple(layer.output.shape[1:]) for layer in model.layers
                   if len(layer.output.shape) == 4 and tuple(layer.output.shape[1:3]) == size]
        if not matches:
            break
        stages.append(matches[-1])
        k += 1
    return stages


def stage_shapes_by_dict(model):
    # one pass: remember the last layer at every spatial size, then walk the halvings
    last = {}
    for layer in model.layers:
        shape = layer.output.shape
        if len(shape) == 4:
            last[(shape[1], shape[2])] = [int(shape[1]), int(shape[2]), int(shape[3])]
    height, width = model.input_shape[1], model.input_shape[2]
    out = []
    for k in range(1, 20):
        if height % 2 ** k or width % 2 ** k or (height // 2 ** k, width // 2 ** k) not in last:
            break
        out.append(last[(height // 2 ** k, width // 2 ** k)])
    return out


def stage_shapes_reversed(model):
    # scan the layers from the end: the first match from the end is the last layer
    h0, w0 = model.inputs[0].shape[1:3]
    result, factor = [], 2
    while h0 % factor == 0 and w0 % factor == 0:
        target = (h0 // factor, w0 // factor)
        hit = next((np.array(layer.output.shape[1:]) for layer in reversed(model.layers)
                    if len(layer.output.shape) == 4 and tuple(layer.output.shape[1:3]) == target),
                   None)
        if hit is None:
            break
        result.append(tuple(hit))
        factor *= 2
    return result


def stages_first_layer(model):
    height, width = model.input_shape[1:3]
    stages, k = [], 1
    while height % 2 ** k == 0 and width % 2 ** k == 0:
        size = (height // 2 ** k, width // 2 ** k)
        matches = [tuple(layer.output.shape[1:]) for layer in model.layers
                   if len(layer.output.shape) == 4 and tuple(layer.output.shape[1:3]) == size]
        if not matches:
            break
        stages.append(matches[0])
        k += 1
    return stages


def stages_with_batch(model):
    return [(None,) + s for s in stage_shapes(model)]


def stages_from_input(model):  # starts with the input's own resolution (k = 0)
    height, width = model.input_shape[1:3]
    stages, k = [], 0
    while height % 2 ** k == 0 and width % 2 ** k == 0:
        size = (height // 2 ** k, width // 2 ** k)
        matches = [tuple(layer.output.shape[1:]) for layer in model.layers
                   if len(layer.output.shape) == 4 and tuple(layer.output.shape[1:3]) == size]
        if not matches:
            break
        stages.append(matches[-1])
        k += 1
    return stages


CORRECT = [
    (q1, vgg_block), (q1, vgg_block_separate_relu), (q1, vgg_block_tf_relu),
    (q2, inception_module), (q2, inception_built_backwards), (q2, inception_explicit_axis),
    (q3, bottleneck_block), (q3, bottleneck_main_first), (q3, bottleneck_tf_relu),
    (q4, lesson13.reference_inverted_residual), (q4, inverted_residual_activation_relu6),
    (q4, inverted_residual_relu_max),
    (q5, Q5),
    (q5, dict(Q5, conv_cost=conv_cost_numpy, separable_cost=separable_cost_list,
              ratio_3x3=np.float32(0.72), costlier=" Same")),
    (q5, dict(Q5, ratio_3x3=18 / 25, ratio_separable=1 / 128 + 1 / 9, costlier="SAME")),
    (q6, stage_shapes), (q6, stage_shapes_by_dict), (q6, stage_shapes_reversed),
]

WRONG = [
    (q1, vgg_5x5, "not every convolution is 3x3"),
    (q1, vgg_valid, "padding='same'"),
    (q1, vgg_no_pool, "should end with one 2x2 max pooling"),
    (q1, vgg_pool_before_relu, "should end with one 2x2 max pooling"),
    (q1, vgg_no_bias, "`use_bias` = False"),
    (q1, vgg_returns_model, "not a model or a layer"),
    (q2, inception_wrong_order, "branches concatenated in the order 1x1, 3x3, 5x5, pool"),
    (q2, inception_no_reduction, "it needs four 1x1"),
    (q2, inception_pool_default_stride, "raised ValueError"),
    (q2, inception_added, "one Concatenate on the channel axis"),
    (q2, inception_pool_proj_from_x, "the block's output"),
    (q3, bottleneck_stride_on_first, "carries the stride"),
    (q3, bottleneck_projects_only_on_stride, "raised ValueError"),
    (q3, bottleneck_relu_before_add, "it needs three"),
    (q3, bottleneck_with_biases, "use_bias=False"),
    (q4, ir_relu_after_projection, "the projection stays linear"),
    (q4, ir_plain_relu, "plain ReLU"),
    (q4, ir_full_conv, "DepthwiseConv2D"),
    (q4, ir_always_expands, "no expansion when expansion == 1"),
    (q4, ir_never_adds, "the input is added back"),
    (q5, dict(Q5, conv_cost=conv_cost_no_bias), "the default is bias=True"),
    (q5, dict(Q5, conv_cost=conv_cost_bias_as_mac), "biases are not multiply-adds"),
    (q5, dict(Q5, conv_cost=conv_cost_k_not_squared), "parameter count differs"),
    (q5, dict(Q5, separable_cost=separable_as_full), "SeparableConv2D"),
    (q5, dict(Q5, separable_cost=separable_depthwise_only), "pointwise"),
    (q5, dict(Q5, ratio_3x3=25 / 18), "upside down"),
    (q5, dict(Q5, ratio_3x3=9 / 25), "`ratio_3x3` is not"),
    (q5, dict(Q5, ratio_separable=1 / 9), "`ratio_separable` is not"),
    (q5, dict(Q5, costlier="B"), "`costlier` = 'B'"),
    (q5, dict(Q5, costlier="layer A"), "one of the strings"),
    (q6, stages_first_layer, "take the LAST layer"),
    (q6, stages_with_batch, "leave out the batch axis"),
    (q6, stages_from_input, "one per halving of the input size"),
]


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = answer_tests(lesson13, CORRECT, WRONG)
