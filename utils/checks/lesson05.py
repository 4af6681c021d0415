"""Checks of lesson 05 · Activations.

Expected values come from ``keras.activations`` and Keras layers (``PReLU``, a ReLU ``Dense``)
in float64, derivatives and gradients from ``tf.GradientTape``. The grids include huge |x| to
catch overflow; the dead-unit data holds units that fire only once, or only weakly.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .core import question

HUGE = np.array([-1000.0, -200.0, -50.0, -20.0, 20.0, 50.0, 200.0, 1000.0])
GRID = np.concatenate([np.round(np.linspace(-8.0, 8.0, 161), 10), HUGE])
GRID_NO_KINK = GRID[GRID != 0.0]  # ReLU-like functions have no derivative at 0
MATRIX = np.random.default_rng(0).normal(scale=3.0, size=(3, 5))
GRID_NAME = "the grid [-8, 8] plus |x| up to 1000"


# --------------------------------------------------------------------------------------- helpers

def _tf(fn, x):
    return np.asarray(fn(tf.constant(x, tf.float64)))


def _derivative(fn, x):
    xt = tf.constant(x, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = fn(xt)
    return tape.gradient(y, xt).numpy()


def _compare(t, fn, name, args, expected, where, **kwargs):
    out = t.call(fn, *(a.copy() if isinstance(a, np.ndarray) else a for a in args), where=where,
                 **kwargs)
    return t.array(out, expected, f"{name} on {where}", rtol=1e-6, atol=1e-9)


def _value_and_derivative(t, fn, fn_name, grad, grad_name, reference, kink=False):
    """Compare ``fn`` and ``grad`` with a TensorFlow reference on the grids."""
    _compare(t, fn, fn_name, [GRID], _tf(reference, GRID), GRID_NAME)
    _compare(t, fn, fn_name, [MATRIX], _tf(reference, MATRIX), "a 3x5 array (shape must be kept)")
    grid = GRID_NO_KINK if kink else GRID
    _compare(t, grad, grad_name, [grid], _derivative(reference, grid),
             GRID_NAME + (" (x = 0 left out)" if kink else ""))


def _no_overflow(t, fn, name):
    """A case that fails when ``fn`` makes np.exp overflow on huge inputs."""
    x = np.array([-1000.0, -750.0, 750.0, 1000.0])
    with np.errstate(over="raise"):
        try:
            fn(x.copy())
            overflow = False
        except FloatingPointError:
            overflow = True
        except Exception:  # other errors were reported by the value cases already
            overflow = False
    t.case(not overflow, f"`{name}` overflows in np.exp for x = ±750 or ±1000 (a RuntimeWarning "
                         "that turns into inf or NaN in other formulas): only exponentiate "
                         "non-positive numbers, e.g. np.exp(-np.abs(x)).")


# --------------------------------------------------------------------------------------- q1
@question(names=["relu", "relu_grad", "leaky_relu", "leaky_relu_grad"], hints=[
    "np.maximum compares element by element; np.where(condition, a, b) picks element by element.",
    "The derivative of ReLU is 1 where x > 0 and 0 where x < 0; Leaky ReLU's is 1 and alpha. "
    "Return float arrays (`.astype(float)`), not booleans.",
    "Leaky ReLU is x for x > 0 and alpha * x otherwise; the default alpha is 0.01.",
])
def q1(t, relu, relu_grad, leaky_relu, leaky_relu_grad):
    """ReLU and Leaky ReLU with their derivatives"""
    _value_and_derivative(t, relu, "relu", relu_grad, "relu_grad", keras.activations.relu,
                          kink=True)

    def leaky(slope):
        return lambda v: keras.activations.leaky_relu(v, negative_slope=slope)

    _value_and_derivative(t, leaky_relu, "leaky_relu (default alpha)", leaky_relu_grad,
                          "leaky_relu_grad (default alpha)", leaky(0.01), kink=True)
    _compare(t, leaky_relu, "leaky_relu(x, alpha=0.2)", [GRID], _tf(leaky(0.2), GRID), GRID_NAME,
             alpha=0.2)
    _compare(t, leaky_relu_grad, "leaky_relu_grad(x, alpha=0.2)", [GRID_NO_KINK],
             _derivative(leaky(0.2), GRID_NO_KINK), GRID_NAME, alpha=0.2)


# --------------------------------------------------------------------------------------- q2
def _prelu_layer(alpha):
    layer = keras.layers.PReLU(dtype="float64")
    layer.build((None, alpha.size))
    layer.set_weights([alpha])
    return layer


@question(names=["elu", "elu_grad", "prelu", "prelu_alpha_grad"], hints=[
    "ELU is x for x > 0 and alpha * (exp(x) - 1) otherwise; its derivative for x < 0 is "
    "alpha * exp(x).",
    "PReLU is Leaky ReLU with one learned slope per channel: with x of shape (N, C) and alpha of "
    "shape (C,), broadcasting lines alpha up with the last axis.",
    "The loss is sum(upstream * prelu(x, alpha)); d prelu / d alpha_c is min(x, 0) in channel c. "
    "Multiply by upstream and sum over the batch axis: the result has shape (C,).",
])
def q2(t, elu, elu_grad, prelu, prelu_alpha_grad):
    """ELU and PReLU (with the gradient of PReLU's learned slope)"""
    _value_and_derivative(t, elu, "elu", elu_grad, "elu_grad", keras.activations.elu, kink=True)
    half = lambda v: keras.activations.elu(v, alpha=0.5)  # noqa: E731
    _compare(t, elu, "elu(x, alpha=0.5)", [GRID], _tf(half, GRID), GRID_NAME, alpha=0.5)
    _compare(t, elu_grad, "elu_grad(x, alpha=0.5)", [GRID_NO_KINK], _derivative(half, GRID_NO_KINK),
             GRID_NAME, alpha=0.5)
    rng = np.random.default_rng(1)
    for n, c in [(4, 3), (6, 5)]:
        x = rng.normal(scale=2.0, size=(n, c))
        x[0, 0] = -1000.0
        alpha = rng.uniform(-0.5, 0.5, size=c)
        if c == 5:
            alpha[-1] = 1.5  # learned slopes are not limited to [0, 1]
        upstream = rng.normal(size=(n, c))
        layer = _prelu_layer(alpha)
        where = f"x of shape ({n}, {c}) with alpha of shape ({c},)"
        _compare(t, prelu, "prelu", [x, alpha], _tf(layer, x), where)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(xt) * upstream)
        expected = tape.gradient(loss, layer.alpha).numpy()
        _compare(t, prelu_alpha_grad, "prelu_alpha_grad", [x, alpha, upstream], expected, where)


# --------------------------------------------------------------------------------------- q3
@question(names=["sigmoid", "sigmoid_grad", "tanh", "tanh_grad"], hints=[
    "sigma(x) = 1 / (1 + exp(-x)); its derivative is sigma(x) * (1 - sigma(x)).",
    "For x < 0, exp(-x) overflows. Use z = exp(-|x|), which is never larger than 1: "
    "sigma(x) = 1 / (1 + z) where x >= 0 and z / (1 + z) where x < 0.",
    "tanh(x) = 2 * sigma(2x) - 1, and its derivative is 1 - tanh(x)**2 (the output, not the input, "
    "squared).",
])
def q3(t, sigmoid, sigmoid_grad, tanh, tanh_grad):
    """sigmoid and tanh with their derivatives, stable for huge |x|"""
    _value_and_derivative(t, sigmoid, "sigmoid", sigmoid_grad, "sigmoid_grad",
                          keras.activations.sigmoid)
    _no_overflow(t, sigmoid, "sigmoid")
    _value_and_derivative(t, tanh, "tanh", tanh_grad, "tanh_grad", keras.activations.tanh)


# --------------------------------------------------------------------------------------- q4
@question(names=["softplus", "swish", "swish_grad", "mish", "mish_grad"], hints=[
    "softplus(x) = log(1 + exp(x)) overflows for large x. Rewrite it as "
    "max(x, 0) + log1p(exp(-|x|)).",
    "swish(x) = x * sigmoid(x); by the product rule its derivative is "
    "sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x)).",
    "mish(x) = x * tanh(softplus(x)). With t = tanh(softplus(x)), the derivative is "
    "t + x * (1 - t**2) * sigmoid(x), because softplus' derivative is sigmoid.",
])
def q4(t, softplus, swish, swish_grad, mish, mish_grad):
    """softplus, swish and mish with derivatives"""
    _compare(t, softplus, "softplus", [GRID], _tf(keras.activations.softplus, GRID), GRID_NAME)
    _no_overflow(t, softplus, "softplus")
    _value_and_derivative(t, swish, "swish", swish_grad, "swish_grad", keras.activations.silu)
    _value_and_derivative(t, mish, "mish", mish_grad, "mish_grad", keras.activations.mish)


# --------------------------------------------------------------------------------------- q5
@question(names=["softmax", "softmax_jacobian"], hints=[
    "Subtract the maximum of the last axis (keepdims=True) before exponentiating; the result does "
    "not change, but nothing overflows.",
    "d p_i / d z_j = p_i * (1 - p_i) when i == j and -p_i * p_j otherwise.",
    "In matrix form the Jacobian is np.diag(p) - np.outer(p, p).",
])
def q5(t, softmax, softmax_jacobian):
    """softmax and its Jacobian"""
    rng = np.random.default_rng(2)
    cases = [("a batch of logits of shape (4, 10)", rng.normal(scale=3.0, size=(4, 10))),
             ("huge logits (around ±1000) of shape (2, 3)",
              np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -999.0]])),
             ("one vector of logits of shape (7,)", rng.normal(size=7))]
    for where, z in cases:
        _compare(t, softmax, "softmax", [z], _tf(keras.activations.softmax, z), where)
    for where, z in [("z of shape (5,)", rng.normal(size=5)),
                     ("huge logits z = [1000, 1000.5, 999]", np.array([1000.0, 1000.5, 999.0]))]:
        zt = tf.constant(z)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(zt)
            p = keras.activations.softmax(zt[None, :])[0]
            outputs = [p[i] for i in range(z.size)]
        # row i of the Jacobian is the gradient of p_i
        jacobian = np.stack([tape.gradient(p_i, zt).numpy() for p_i in outputs])
        _compare(t, softmax_jacobian, "softmax_jacobian", [z], jacobian, where)


# --------------------------------------------------------------------------------------- q6
def _dense(kernel, bias):
    layer = keras.layers.Dense(kernel.shape[1], activation="relu")
    layer.build((None, kernel.shape[0]))
    layer.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return layer


def _dead_unit_cases():
    """(description, layer, inputs): dead by bias, by weights, exactly zero, nearly dead, and
    alive with tiny outputs."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 4)).astype(np.float32)
    kernel = rng.normal(size=(4, 6))
    kernel[:, 3] = 0.0  # unit 3 outputs exactly 0 everywhere
    bias = np.array([0.0, 0.5, -50.0, 0.0, -50.0, 0.1])
    yield "Dense(6) with large negative biases on 50 inputs", _dense(kernel, bias), x
    positive = rng.uniform(0, 1, size=(40, 3)).astype(np.float32)
    kernel = rng.normal(size=(3, 5))
    kernel[:, [0, 2]] = -np.abs(kernel[:, [0, 2]])  # negative weights on positive inputs
    yield "Dense(5) on positive inputs, two units with only negative weights", \
        _dense(kernel, np.zeros(5)), positive
    kernel = np.full((3, 4), -1.0)
    kernel[:, 1] = 1.0
    nearly = rng.uniform(0, 1, size=(30, 3)).astype(np.float32)
    nearly[7] = [5.0, -9.0, -5.0]  # the only input that makes units 0, 2, 3 fire
    yield "Dense(4) whose units 0, 2, 3 fire for one input out of 30", \
        _dense(kernel, np.zeros(4)), nearly
    # weak but alive: outputs of about 1e-4, so a threshold on the mean or the maximum output
    # (instead of "exactly 0 everywhere") calls these units dead
    weak = rng.uniform(0, 1, size=(40, 2)).astype(np.float32)
    kernel = np.array([[1.0, 1e-3, -1.0], [1.0, 0.0, -1.0]])
    yield "Dense(3) whose unit 1 fires weakly (outputs below 0.001) on some inputs", \
        _dense(kernel, np.array([0.0, -0.8e-3, 0.0])), weak


@question(names=["dead_units"], hints=[
    "A unit is dead on a data set when its ReLU output is 0 for every input.",
    "`layer(x)` gives the outputs, shape (N, units); or compute x @ W + b from "
    "`layer.get_weights()` and look where it is <= 0.",
    "Reduce over the batch axis with np.all (not np.any) and return a boolean array of shape "
    "(units,).",
])
def q6(t, dead_units):
    """counting dead ReLU units"""
    for where, layer, x in _dead_unit_cases():
        expected = np.all(np.asarray(layer(x)) == 0, axis=0)
        out = t.numbers(t.call(dead_units, layer, x.copy(), where=where), f"dead_units on {where}")
        if out.shape == expected.shape and out.dtype.kind != "b":
            t.case(False, f"`dead_units` on {where} holds {out.dtype} values; it should be a "
                          "boolean array (True for a dead unit).")
        else:
            t.array(out, expected, f"dead_units on {where}")


# --------------------------------------------------------------------------------------- q7
def _gradient_model(activation, input_shape, widths, seed):
    rng = np.random.default_rng(seed)
    layers = [keras.Input(input_shape)]
    if len(input_shape) > 1:
        layers.append(keras.layers.Flatten())
    layers += [keras.layers.Dense(w, activation=activation) for w in widths]
    layers.append(keras.layers.Dense(4, activation="softmax"))
    model = keras.Sequential(layers)
    model.set_weights([rng.normal(scale=0.6, size=w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model


@question(names=["layer_gradient_norms"], hints=[
    "Inside `with tf.GradientTape() as tape:` compute the predictions `model(x)` and the loss "
    "`keras.losses.SparseCategoricalCrossentropy()(y, predictions)` (the mean over the batch).",
    "Collect the kernels of the Dense layers only: "
    "[layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)].",
    "tape.gradient(loss, kernels) gives one gradient per kernel; return "
    "np.array([np.linalg.norm(g) for g in grads]), first layer first.",
])
def q7(t, layer_gradient_norms):
    """per-layer gradient norms with tf.GradientTape"""
    rng = np.random.default_rng(4)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    for activation, input_shape, widths, seed in [("sigmoid", (6,), (8, 8, 8), 5),
                                                 ("relu", (3, 4), (10, 7), 6)]:
        model = _gradient_model(activation, input_shape, widths, seed)
        x = rng.normal(size=(16,) + input_shape).astype(np.float32)
        y = rng.integers(0, 4, size=16)
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
        expected = [float(tf.norm(g)) for g in tape.gradient(loss, [d.kernel for d in dense])]
        where = (f"a {activation} model with {len(dense)} Dense layers"
                 + (" after a Flatten layer" if len(input_shape) > 1 else ""))
        out = t.numbers(t.call(layer_gradient_norms, model, x.copy(), y.copy(), where=where),
                        f"layer_gradient_norms on {where}")
        if out.shape != (len(dense),):
            t.fail(f"`layer_gradient_norms` on {where} has shape {out.shape}: it should hold one "
                   "number per Dense layer (kernels only, no biases).")
        t.array(out, np.array(expected), f"layer_gradient_norms on {where}", rtol=1e-4, atol=1e-7)
