"""Lesson 05 (activations): correct answers PASS; plausible wrong answers FAIL clearly."""
import keras
import numpy as np
import tensorflow as tf

from helpers import answer_tests
from utils.checks import lesson05


# ----------------------------------------------------------------------------- correct answers
def relu(x):
    return np.maximum(x, 0.0)


def relu_grad(x):
    return (x > 0).astype(float)


def leaky_relu(x, alpha=0.01):
    return np.where(x > 0, x, alpha * x)


def leaky_relu_grad(x, alpha=0.01):
    return np.where(x > 0, 1.0, alpha)


def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x, alpha=1.0):
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def prelu(x, alpha):
    return np.where(x > 0, x, alpha * x)


def prelu_alpha_grad(x, alpha, upstream):
    return (upstream * np.minimum(x, 0.0)).sum(axis=0)


def sigmoid(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x):
    return 2.0 * sigmoid(2.0 * x) - 1.0


def tanh_grad(x):
    return 1.0 - tanh(x) ** 2


def softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def swish(x):
    return x * sigmoid(x)


def swish_grad(x):
    s = sigmoid(x)
    return s + x * s * (1.0 - s)


def mish(x):
    return x * tanh(softplus(x))


def mish_grad(x):
    t = tanh(softplus(x))
    return t + x * (1.0 - t**2) * sigmoid(x)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(z):
    p = softmax(z)
    return np.diag(p) - np.outer(p, p)


def dead_units(layer, x):
    return np.all(np.asarray(layer(x)) == 0, axis=0)


def layer_gradient_norms(model, x, y):
    kernels = [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
    return np.array([np.linalg.norm(g) for g in tape.gradient(loss, kernels)])


REFERENCE = {
    "q1": dict(relu=relu, relu_grad=relu_grad, leaky_relu=leaky_relu,
               leaky_relu_grad=leaky_relu_grad),
    "q2": dict(elu=elu, elu_grad=elu_grad, prelu=prelu, prelu_alpha_grad=prelu_alpha_grad),
    "q3": dict(sigmoid=sigmoid, sigmoid_grad=sigmoid_grad, tanh=tanh, tanh_grad=tanh_grad),
    "q4": dict(softplus=softplus, swish=swish, swish_grad=swish_grad, mish=mish,
               mish_grad=mish_grad),
    "q5": dict(softmax=softmax, softmax_jacobian=softmax_jacobian),
    "q6": dict(dead_units=dead_units),
    "q7": dict(layer_gradient_norms=layer_gradient_norms),
}


# ------------------------------------------------------- correct answers written differently
def _tf_unary(fn):
    """A TensorFlow function applied to a NumPy array, returning a NumPy array."""
    return lambda x, **kw: fn(tf.constant(x), **kw).numpy()


def _tape_slope(fn):
    """The derivative of an element-wise TensorFlow function, by tf.GradientTape."""
    def slope(x, **kw):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = fn(xt, **kw)
        return tape.gradient(y, xt).numpy()
    return slope


def _masked_relu_grad(x):
    out = np.zeros_like(x)
    out[x > 0] = 1.0
    return out


def _prelu_alpha_grad_tape(x, alpha, upstream):
    a = tf.Variable(alpha)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(upstream * tf.where(x > 0, x, a * x))
    return tape.gradient(loss, a).numpy()


def _expit(x):
    return np.exp(-np.logaddexp(0.0, -x))      # never exponentiates a positive number


def _softmax_logsumexp(z):
    from scipy.special import logsumexp

    return np.exp(z - logsumexp(z, axis=-1, keepdims=True))


def _jacobian_loops(z):
    p = _softmax_logsumexp(z)
    k = len(p)
    jac = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            jac[i, j] = p[i] * ((i == j) - p[j])
    return jac


def _norms_from_trainable_weights(model, x, y):
    """Kernels picked by class name, the loss from keras.ops, norms from tf.norm."""
    kernels = [layer.trainable_weights[0] for layer in model.layers
               if type(layer).__name__ == "Dense"]
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(keras.ops.sparse_categorical_crossentropy(y, model(x)))
    return np.array([float(tf.norm(g)) for g in tape.gradient(loss, kernels)])


def _norms_one_tape_per_layer(model, x, y):
    """A new forward pass and tape for every Dense layer; a list of floats."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, model(x)))
            out.append(float(np.sqrt(np.sum(tape.gradient(loss, layer.kernel).numpy() ** 2))))
    return out


CORRECT = list(REFERENCE.items()) + [
    ("q1", dict(relu=_tf_unary(tf.nn.relu), relu_grad=lambda x: np.heaviside(x, 0.0),
                leaky_relu=lambda x, alpha=0.01: np.maximum(x, alpha * x),
                leaky_relu_grad=lambda x, alpha=0.01: np.where(x > 0, 1.0, alpha))),
    ("q1", dict(relu=lambda x: x * (x > 0), relu_grad=_masked_relu_grad,
                leaky_relu=lambda x, alpha=0.01: keras.ops.leaky_relu(x, negative_slope=alpha),
                leaky_relu_grad=_tape_slope(
                    lambda v, alpha=0.01: tf.nn.leaky_relu(v, alpha=alpha)))),
    ("q2", dict(elu=lambda x, alpha=1.0: keras.ops.elu(x, alpha=alpha).numpy(),
                elu_grad=_tape_slope(lambda v, alpha=1.0: keras.ops.elu(v, alpha=alpha)),
                prelu=lambda x, alpha: np.maximum(x, 0.0) + alpha * np.minimum(x, 0.0),
                prelu_alpha_grad=lambda x, alpha, up: np.einsum("nc,nc->c", up,
                                                                np.minimum(x, 0.0)))),
    ("q2", dict(elu=lambda x, alpha=1.0: np.piecewise(
                    x, [x > 0], [lambda v: v, lambda v: alpha * np.expm1(v)]),
                elu_grad=lambda x, alpha=1.0: np.where(x > 0, 1.0,
                                                       alpha * np.exp(np.clip(x, None, 0.0))),
                prelu=lambda x, alpha: tf.where(x > 0, x, alpha * x).numpy(),
                prelu_alpha_grad=_prelu_alpha_grad_tape)),
    ("q3", dict(sigmoid=_expit, sigmoid_grad=lambda x: _expit(x) * _expit(-x),
                tanh=np.tanh, tanh_grad=lambda x: 1 - np.tanh(x) ** 2)),
    ("q3", dict(sigmoid=_tf_unary(tf.math.sigmoid), sigmoid_grad=_tape_slope(tf.math.sigmoid),
                tanh=_tf_unary(tf.math.tanh),
                tanh_grad=lambda x: 1 / np.cosh(np.clip(x, -300, 300)) ** 2)),
    ("q4", dict(softplus=lambda x: np.logaddexp(0.0, x), swish=lambda x: x * _expit(x),
                swish_grad=lambda x: _expit(x) * (1 + x * _expit(-x)),
                mish=lambda x: x * np.tanh(np.logaddexp(0.0, x)),
                mish_grad=_tape_slope(lambda v: v * tf.math.tanh(tf.math.softplus(v))))),
    ("q4", dict(softplus=_tf_unary(tf.math.softplus), swish=_tf_unary(tf.nn.silu),
                swish_grad=_tape_slope(tf.nn.silu), mish=_tf_unary(keras.activations.mish),
                mish_grad=_tape_slope(keras.activations.mish))),
    ("q5", dict(softmax=_softmax_logsumexp, softmax_jacobian=_jacobian_loops)),
    ("q5", dict(softmax=lambda z: tf.nn.softmax(z, axis=-1).numpy(),
                softmax_jacobian=lambda z: (lambda p: p[:, None] * (np.eye(len(p)) - p[None, :]))(
                    tf.nn.softmax(z).numpy()))),
    ("q6", dict(dead_units=lambda layer, x: np.all(
        x @ layer.get_weights()[0] + layer.get_weights()[1] <= 0, axis=0))),
    ("q6", dict(dead_units=lambda layer, x: tf.reduce_all(layer(x) <= 0.0, axis=0))),
    ("q6", dict(dead_units=lambda layer, x: np.asarray(layer(x)).max(axis=0) == 0)),
    ("q7", dict(layer_gradient_norms=_norms_from_trainable_weights)),
    ("q7", dict(layer_gradient_norms=_norms_one_tape_per_layer)),
]


# ----------------------------------------------------------------------------- wrong answers
def _with(key, **changes):
    return dict(REFERENCE[key], **changes)


def _naive_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _where_sigmoid(x):
    """Looks stable, but np.where computes both branches on every element."""
    return np.where(x >= 0, _naive_sigmoid(x), np.exp(x) / (1 + np.exp(x)))


def _naive_tanh(x):
    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))


def _softmax_no_shift(z):
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _jacobian_no_shift(z):
    p = _softmax_no_shift(z)
    return np.diag(p) - np.outer(p, p)


def _preactivations(layer, x, bias=True):
    kernel, b = layer.get_weights()
    return x @ kernel + (b if bias else 0.0)


def _all_layer_norms(model, x, y):
    """Gradient norms of every weight (kernels and biases), not one per Dense layer."""
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
    return np.array([np.linalg.norm(g) for g in tape.gradient(loss, model.trainable_weights)])


def _weight_norms(model, x, y):
    """Norms of the kernels themselves instead of their gradients."""
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    return np.array([np.linalg.norm(layer.kernel) for layer in dense])


GRID = "on the grid [-8, 8] plus |x| up to 1000"
WRONG = {
    "q1": [(_with("q1", relu_grad=lambda x: x > 0), "holds booleans"),
           (_with("q1", leaky_relu=lambda x, alpha=0.01: np.maximum(x, alpha)),
            "leaky_relu (default alpha) on the grid"),
           (_with("q1", leaky_relu_grad=lambda x, alpha=0.01: relu_grad(x)),
            "leaky_relu_grad (default alpha) on the grid"),
           (_with("q1", leaky_relu=lambda x, alpha=0.3: leaky_relu(x, alpha),
                  leaky_relu_grad=lambda x, alpha=0.3: leaky_relu_grad(x, alpha)),
            "leaky_relu (default alpha)"),
           (_with("q1", leaky_relu=lambda x: leaky_relu(x)),
            "unexpected keyword argument 'alpha'")],
    "q2": [(_with("q2", elu_grad=lambda x, alpha=1.0: np.where(x > 0, 1.0, np.exp(x))),
            "elu_grad(x, alpha=0.5)"),
           (_with("q2", elu=lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.exp(x))),
            "elu " + GRID),
           (_with("q2", prelu_alpha_grad=lambda x, alpha, up: np.minimum(x, 0.0).sum(axis=0)),
            "prelu_alpha_grad on x of shape (4, 3)"),
           (_with("q2", prelu_alpha_grad=lambda x, alpha, up: up * np.minimum(x, 0.0)),
            "should have shape (3,)"),
           (_with("q2", prelu=lambda x, alpha: np.where(x > 0, x, alpha)),
            "prelu on x of shape (4, 3)"),
           (_with("q2", prelu=lambda x, alpha: np.maximum(x, alpha * x)),  # wrong for a slope > 1
            "prelu on x of shape (6, 5)")],
    "q3": [(_with("q3", sigmoid=lambda x: np.exp(x) / (1.0 + np.exp(x))),
            "contains NaN or infinity"),
           (_with("q3", sigmoid=_naive_sigmoid), "`sigmoid` overflows in np.exp"),
           (_with("q3", sigmoid=_where_sigmoid), "`sigmoid` overflows in np.exp"),
           (_with("q3", tanh_grad=lambda x: 1.0 - x**2), "tanh_grad " + GRID),
           (_with("q3", tanh=_naive_tanh), f"`tanh {GRID}` contains NaN"),
           (_with("q3", sigmoid_grad=lambda x: sigmoid(x) * (1 - x)), "sigmoid_grad " + GRID)],
    "q4": [(_with("q4", softplus=lambda x: np.log1p(np.exp(x))),
            f"`softplus {GRID}` contains NaN or infinity"),
           (_with("q4", softplus=lambda x: np.where(x > 30, x, np.log1p(np.exp(x)))),
            "`softplus` overflows in np.exp"),
           (_with("q4", swish_grad=sigmoid), "swish_grad " + GRID),
           (_with("q4", mish_grad=lambda x: tanh(softplus(x)) + x * sigmoid(x)),
            "mish_grad " + GRID),
           (_with("q4", mish=lambda x: x * np.tanh(x)), "mish " + GRID)],
    "q5": [(_with("q5", softmax=_softmax_no_shift),
            "softmax on huge logits (around ±1000) of shape (2, 3)"),
           (_with("q5", softmax=lambda z: softmax(z.T).T if z.ndim == 2 else softmax(z)),
            "softmax on a batch of logits of shape (4, 10)"),
           (_with("q5", softmax_jacobian=lambda z: np.diag(softmax(z))),
            "softmax_jacobian on z of shape (5,)"),
           (_with("q5", softmax_jacobian=_jacobian_no_shift), "softmax_jacobian on huge logits")],
    "q6": [({"dead_units": lambda layer, x: np.any(np.asarray(layer(x)) == 0, axis=0)},
            "dead_units on Dense(4) whose units 0, 2, 3 fire for one input out of 30"),
           ({"dead_units": lambda layer, x: np.all(_preactivations(layer, x) < 0, axis=0)},
            "dead_units on Dense(6) with large negative biases"),
           ({"dead_units": lambda layer, x: np.all(_preactivations(layer, x, False) <= 0, axis=0)},
            "dead_units on Dense(6) with large negative biases"),
           ({"dead_units": lambda layer, x: int(dead_units(layer, x).sum())},
            "has shape () but should have"),
           ({"dead_units": lambda layer, x: np.mean(np.asarray(layer(x)), axis=0) < 1e-3},
            "dead_units on Dense(3) whose unit 1 fires weakly"),
           ({"dead_units": lambda layer, x: np.asarray(layer(x)).max(axis=0) < 1e-3},
            "dead_units on Dense(3) whose unit 1 fires weakly"),
           ({"dead_units": lambda layer, x: dead_units(layer, x).astype(int)},
            "it should be a boolean array")],
    "q7": [({"layer_gradient_norms": _all_layer_norms}, "one number per Dense layer"),
           ({"layer_gradient_norms": lambda m, x, y: layer_gradient_norms(m, x, y)[::-1]},
            "layer_gradient_norms on a sigmoid model with 4 Dense layers"),
           ({"layer_gradient_norms": lambda m, x, y: layer_gradient_norms(m, x, y) * len(x)},
            "layer_gradient_norms on a sigmoid model"),
           ({"layer_gradient_norms": _weight_norms}, "is wrong at")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson05, CORRECT, WRONG)
