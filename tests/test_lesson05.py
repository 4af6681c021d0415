"""Lesson 05 (activations): correct answers PASS; plausible wrong answers FAIL clearly."""
import keras
import numpy as np
import tensorflow as tf

from helpers import answer_tests
from utils.checks import PASS, lesson05


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


CORRECT = {
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


def test_numpy_builtins_and_weights_route_pass():
    """np.tanh, and dead units found from the weights instead of a forward pass."""
    def from_weights(layer, x):
        kernel, bias = layer.get_weights()
        return np.all(x @ kernel + bias <= 0, axis=0)

    answers = dict(CORRECT["q3"], tanh=np.tanh, tanh_grad=lambda x: 1 - np.tanh(x) ** 2)
    assert lesson05.q3.evaluate(namespace={}, **answers).status == PASS
    assert lesson05.q6.evaluate(namespace={}, dead_units=from_weights).status == PASS


# ----------------------------------------------------------------------------- wrong answers
def _with(key, **changes):
    return dict(CORRECT[key], **changes)


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
            "has shape () but should have")],
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
