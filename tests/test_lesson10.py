"""Lesson 10: the reference answers pass, plausible wrong answers fail with a specific message."""
import numpy as np
import tensorflow as tf
from helpers import answer_tests

from utils.checks import lesson10


# ----------------------------------------------------------------------------- reference answers
def sgd_step(w, g, state, lr, momentum=0.0, nesterov=False):
    v = np.zeros_like(w) if state is None else state
    v = momentum * v - lr * g
    return w + (momentum * v - lr * g if nesterov else v), v


def adagrad_step(w, g, state, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    acc = np.full_like(w, initial_accumulator_value) if state is None else state
    acc = acc + g ** 2
    return w - lr * g / np.sqrt(acc + epsilon), acc


def rmsprop_step(w, g, state, lr, rho=0.9, epsilon=1e-7):
    v = np.zeros_like(w) if state is None else state
    v = rho * v + (1 - rho) * g ** 2
    return w - lr * g / np.sqrt(v + epsilon), v


def adam_step(w, g, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, v, t = (np.zeros_like(w), np.zeros_like(w), 0) if state is None else state
    t += 1
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g ** 2
    alpha = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return w - alpha * m / (np.sqrt(v) + epsilon), (m, v, t)


def valley_grad(p, b=10.0):
    x, y = p
    return np.array([-2 * (1 - x) - 4 * b * x * (y - x ** 2), 2 * b * (y - x ** 2)])


def optimize(step, grad_fn, w0, lr, n_steps, **hyper):
    w, state, path = np.array(w0, dtype=float), None, [np.array(w0, dtype=float)]
    for _ in range(n_steps):
        w, state = step(w, grad_fn(w), state, lr, **hyper)
        path.append(np.array(w, dtype=float))
    return np.array(path)


def adamw_step(w, g, state, lr, weight_decay=0.004, **adam):
    return adam_step(w - lr * weight_decay * w, g, state, lr, **adam)


# ------------------------------------------------------------- correct answers, written differently
def sgd_step_dict_state(w, g, state, lr, momentum=0.0, nesterov=False):
    v = momentum * (state["velocity"] if state else 0.0) - lr * g   # a scalar 0 broadcasts
    step = momentum * v - lr * g if nesterov else v
    return w + step, {"velocity": v}


def sgd_step_expanded(w, g, state, lr, momentum=0.0, nesterov=False):
    v_old = np.zeros(w.shape) if state is None else state
    if nesterov:   # momentum * (momentum * v_old - lr * g) - lr * g, multiplied out
        new_w = w + momentum ** 2 * v_old - (1 + momentum) * lr * g
    else:
        new_w = w + momentum * v_old - lr * g
    return new_w, momentum * v_old - lr * g


def adagrad_step_scalar_start(w, g, state, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    acc = (initial_accumulator_value if state is None else state) + np.square(g)
    return w - lr * g * (acc + epsilon) ** -0.5, acc


def adagrad_step_tf(w, g, state, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    acc = tf.fill(w.shape, tf.constant(initial_accumulator_value, tf.float64)) \
        if state is None else state
    acc = acc + tf.square(g)
    return (w - lr * g / tf.sqrt(acc + epsilon)).numpy(), acc


def rmsprop_step_first_call(w, g, state, lr, rho=0.9, epsilon=1e-7):
    v = (1 - rho) * g * g if state is None else rho * state + (1 - rho) * g * g
    return w - lr * g / np.sqrt(v + epsilon), v


def rmsprop_step_dict(w, g, state, lr, rho=0.9, epsilon=1e-7):
    state = state or {"s": np.zeros_like(w)}
    s = state["s"] + (1 - rho) * (g ** 2 - state["s"])    # rho * s + (1 - rho) * g**2, rearranged
    return w - lr * g / np.sqrt(s + epsilon), {"s": s}


def adam_step_textbook_form(w, g, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """The bias-corrected m_hat and v_hat, with Keras' epsilon rescaled to match."""
    m, v, t = (0.0, 0.0, 0) if state is None else state
    t += 1
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g ** 2
    m_hat, v_hat = m / (1 - beta_1 ** t), v / (1 - beta_2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + epsilon / np.sqrt(1 - beta_2 ** t)), (m, v, t)


def adam_step_beta_powers(w, g, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """The state carries beta_1**t and beta_2**t instead of the count t."""
    if state is None:
        state = {"m": np.zeros_like(w), "v": np.zeros_like(w), "b1t": 1.0, "b2t": 1.0}
    b1t, b2t = state["b1t"] * beta_1, state["b2t"] * beta_2
    m = state["m"] + (1 - beta_1) * (g - state["m"])
    v = state["v"] + (1 - beta_2) * (g * g - state["v"])
    new_w = w - (lr * np.sqrt(1 - b2t) / (1 - b1t)) * m / (np.sqrt(v) + epsilon)
    return new_w, {"m": m, "v": v, "b1t": b1t, "b2t": b2t}


def valley_grad_tape(p, b=10.0):
    v = tf.Variable(np.asarray(p, dtype=np.float64))
    with tf.GradientTape() as tape:
        f = (1 - v[0]) ** 2 + b * (v[1] - v[0] ** 2) ** 2
    return tape.gradient(f, v).numpy()


def valley_grad_expanded(p, b=10.0):
    x, y = float(p[0]), float(p[1])
    return np.array([2 * x - 2 + 4 * b * x ** 3 - 4 * b * x * y, 2 * b * y - 2 * b * x ** 2])


def optimize_preallocated(step, grad_fn, w0, lr, n_steps, **hyper):
    path = np.empty((n_steps + 1, len(w0)))
    path[0] = w0
    state = None
    for k in range(n_steps):
        new_w, state = step(path[k].copy(), grad_fn(path[k]), state, lr, **hyper)
        path[k + 1] = new_w
    return path


def optimize_while(step, grad_fn, w0, lr, n_steps, **hyper):
    points, state = [np.copy(w0)], None
    while len(points) <= n_steps:
        w = points[-1]
        w, state = step(w, grad_fn(w), state, lr, **hyper)
        points.append(w)
    return np.stack(points).astype(float)


def adamw_step_inline(w, g, state, lr, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                      epsilon=1e-7):
    m, v, t = (np.zeros_like(w), np.zeros_like(w), 0) if state is None else state
    w = w * (1 - lr * weight_decay)
    t += 1
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g ** 2
    return w - lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (np.sqrt(v) + epsilon), \
        (m, v, t)


def adamw_step_textbook_adam(w, g, state, lr, weight_decay=0.004, **adam):
    return adam_step_textbook_form(w - lr * weight_decay * w, g, state, lr, **adam)


# ----------------------------------------------------------------------------- wrong answers
def sgd_textbook(w, g, state, lr, momentum=0.0, nesterov=False):
    """v = mu v + g; w -= lr v: right only while the learning rate is constant."""
    v = np.zeros_like(w) if state is None else state
    v = momentum * v + g
    return w - lr * (momentum * v + g if nesterov else v), v


def sgd_nesterov_old_velocity(w, g, state, lr, momentum=0.0, nesterov=False):
    v_old = np.zeros_like(w) if state is None else state
    v = momentum * v_old - lr * g
    return w + (momentum * v_old - lr * g if nesterov else v), v


def sgd_in_place(w, g, state, lr, momentum=0.0, nesterov=False):
    v = np.zeros_like(w) if state is None else state
    v = momentum * v - lr * g
    w += momentum * v - lr * g if nesterov else v
    return w, v


def adagrad_step_before_accumulating(w, g, state, lr, initial_accumulator_value=0.1,
                                     epsilon=1e-7):
    acc = np.full_like(w, initial_accumulator_value) if state is None else state
    return w - lr * g / np.sqrt(acc + epsilon), acc + g ** 2


def adagrad_zero_start(w, g, state, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    acc = np.zeros_like(w) if state is None else state
    acc = acc + g ** 2
    return w - lr * g / np.sqrt(acc + epsilon), acc


def adagrad_eps_outside(w, g, state, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    acc = np.full_like(w, initial_accumulator_value) if state is None else state
    acc = acc + g ** 2
    return w - lr * g / (np.sqrt(acc) + epsilon), acc


def rmsprop_no_one_minus_rho(w, g, state, lr, rho=0.9, epsilon=1e-7):
    v = np.zeros_like(w) if state is None else state
    v = rho * v + g ** 2
    return w - lr * g / np.sqrt(v + epsilon), v


def rmsprop_eps_outside(w, g, state, lr, rho=0.9, epsilon=1e-7):
    v = np.zeros_like(w) if state is None else state
    v = rho * v + (1 - rho) * g ** 2
    return w - lr * g / (np.sqrt(v) + epsilon), v


def adam_no_bias_correction(w, g, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, v = (np.zeros_like(w), np.zeros_like(w)) if state is None else state
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g ** 2
    return w - lr * m / (np.sqrt(v) + epsilon), (m, v)


def adam_textbook_epsilon(w, g, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, v, t = (np.zeros_like(w), np.zeros_like(w), 0) if state is None else state
    t += 1
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g ** 2
    m_hat, v_hat = m / (1 - beta_1 ** t), v / (1 - beta_2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + epsilon), (m, v, t)


def adam_returns_w_only(w, g, state, lr, **kwargs):
    return w - lr * g


def valley_grad_no_inner_derivative(p, b=10.0):
    x, y = p
    return np.array([-2 * (1 - x) + 2 * b * (y - x ** 2), 2 * b * (y - x ** 2)])


def valley_grad_sign_flipped(p, b=10.0):
    x, y = p
    return np.array([-2 * (1 - x) - 4 * b * x * (y - x ** 2), 2 * b * (x ** 2 - y)])


def valley_grad_no_chain_factor(p, b=10.0):  # forgot the 2 of the square's derivative
    x, y = p
    return np.array([-(1 - x) - 2 * b * x * (y - x ** 2), b * (y - x ** 2)])


def optimize_without_start(step, grad_fn, w0, lr, n_steps, **hyper):
    return optimize(step, grad_fn, w0, lr, n_steps, **hyper)[1:]


def optimize_forgets_state(step, grad_fn, w0, lr, n_steps, **hyper):
    w, path = np.array(w0, dtype=float), [np.array(w0, dtype=float)]
    for _ in range(n_steps):
        w, _ = step(w, grad_fn(w), None, lr, **hyper)
        path.append(w)
    return np.array(path)


def optimize_drops_hyper(step, grad_fn, w0, lr, n_steps, **hyper):
    return optimize(step, grad_fn, w0, lr, n_steps)


def optimize_in_place(step, grad_fn, w0, lr, n_steps, **hyper):
    w, state, path = w0, None, [w0.copy()]
    for _ in range(n_steps):
        new_w, state = step(w, grad_fn(w), state, lr, **hyper)
        w[:] = new_w
        path.append(w.copy())
    return np.array(path)


def adamw_as_l2(w, g, state, lr, weight_decay=0.004, **adam):
    return adam_step(w, g + weight_decay * w, state, lr, **adam)


def adamw_decay_after(w, g, state, lr, weight_decay=0.004, **adam):
    new_w, state = adam_step(w, g, state, lr, **adam)
    return new_w - lr * weight_decay * new_w, state


WRONG = {
    "q1": [(sgd_textbook, "changes at every step"),
           (sgd_nesterov_old_velocity, "nesterov=True"),
           (sgd_in_place, "changed the array `w` it was given")],
    "q2": [(adagrad_zero_start, "Keras defaults (initial_accumulator_value=0.1)"),
           (adagrad_step_before_accumulating, "after step 1"),
           (adagrad_eps_outside, "tiny gradients")],
    "q3": [(rmsprop_no_one_minus_rho, "Keras defaults (rho=0.9)"),
           (rmsprop_eps_outside, "tiny gradients")],
    "q4": [(adam_no_bias_correction, "after step 1"),
           (adam_textbook_epsilon, "tiny gradients (1e-6), where the place of epsilon matters"),
           (adam_returns_w_only, "should return a pair")],
    "q5": [(valley_grad_no_inner_derivative, "valley_grad(p=(-1.5, 2.0), b=10.0)"),
           (valley_grad_sign_flipped, "valley_grad(p=(-1.5, 2.0), b=10.0)"),
           (valley_grad_no_chain_factor, "valley_grad(p=(0.0, 0.0), b=10.0)")],
    "q6": [(optimize_without_start,
            "path (SGD, lr=0.05, 12 steps)` has shape (12, 2) but should have shape (13, 2)"),
           (optimize_forgets_state, "Adam, lr=0.1, 10 steps (needs the state)"),
           (optimize_drops_hyper, "momentum=0.9 passed as a keyword"),
           (optimize_in_place, "changed the array w0")],
    "q7": [(adamw_as_l2, "strong decay"),
           (adamw_decay_after, "strong decay")],
}
CORRECT = [
    ("q1", sgd_step), ("q1", sgd_step_dict_state), ("q1", sgd_step_expanded),
    ("q2", adagrad_step), ("q2", adagrad_step_scalar_start), ("q2", adagrad_step_tf),
    ("q3", rmsprop_step), ("q3", rmsprop_step_first_call), ("q3", rmsprop_step_dict),
    ("q4", adam_step), ("q4", adam_step_textbook_form), ("q4", adam_step_beta_powers),
    ("q5", valley_grad), ("q5", valley_grad_tape), ("q5", valley_grad_expanded),
    ("q6", optimize), ("q6", optimize_preallocated), ("q6", optimize_while),
    ("q7", adamw_step), ("q7", adamw_step_inline), ("q7", adamw_step_textbook_adam),
]

(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson10, CORRECT, WRONG)


# ----------------------------------------------------------------------------- Adam's epsilon
def test_keras_adam_puts_epsilon_over_the_root_of_one_minus_beta2():
    """Lesson 10, section 5: Keras' Adam is the textbook rule with epsilon / sqrt(1 - beta_2**t)
    (31.6 epsilon at t = 1), not epsilon * sqrt(1 - beta_2**t). Gradients of 1e-8..1e-6 make the
    place of epsilon visible; two steps check that t enters as the step count."""
    import keras

    lr, beta_1, beta_2, eps = 1e-3, 0.9, 0.999, 1e-7
    g = np.array([1e-8, 3e-8, 1e-7, 1e-6])
    w = keras.Variable(np.zeros(4), dtype="float64")
    optimizer = keras.optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2, epsilon=eps)
    m = v = np.zeros(4)
    for t in (1, 2):
        before = w.numpy().copy()
        optimizer.apply([tf.constant(g, dtype="float64")], [w])
        step = w.numpy() - before
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g ** 2
        m_hat, v_hat = m / (1 - beta_1 ** t), v / (1 - beta_2 ** t)

        def textbook(epsilon):
            return -lr * m_hat / (np.sqrt(v_hat) + epsilon)

        over = textbook(eps / np.sqrt(1 - beta_2 ** t))
        times = textbook(eps * np.sqrt(1 - beta_2 ** t))
        np.testing.assert_allclose(step, over, rtol=1e-4)          # what the lesson says
        assert np.all(np.abs(step / times - 1) > 0.5), (t, step, times)   # the old, wrong text
        assert np.all(np.abs(step / textbook(eps) - 1) > 0.5), (t, step)  # not the textbook rule
