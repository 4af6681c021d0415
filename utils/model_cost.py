"""What a model costs to run: multiply-adds per image, counted from its layers.

A budget in multiply-adds does not depend on the machine: the same model costs the same count on
a laptop and on a server, while its seconds per epoch do not.
"""
from __future__ import annotations

import math

_BUILD_FROM_INPUT = "build the model from keras.Input (functional or Sequential)"


def _spatial(shape) -> int:
    """Positions of one feature map of ``shape`` (batch axis first, channels last)."""
    return math.prod(int(d) for d in shape[1:-1])


def layer_multiply_adds(layer, output_shape) -> int:
    """Multiply-adds of one call of a layer for one image, from the shape that call returned
    (0 for layers without weights to multiply)."""
    import keras

    kind = keras.layers
    if isinstance(layer, keras.Model):
        return multiply_adds(layer)
    if isinstance(layer, (kind.Conv1D, kind.Conv2D, kind.Conv3D, kind.DepthwiseConv1D,
                          kind.DepthwiseConv2D, kind.Dense)):
        # kernel (*window, channels in / groups, filters); a Dense on a flat input has 1 position
        return _spatial(output_shape) * math.prod(layer.kernel.shape)
    if isinstance(layer, (kind.SeparableConv1D, kind.SeparableConv2D)):
        # the depthwise step takes the layer's strides and padding: both steps run at the output
        kernels = math.prod(layer.depthwise_kernel.shape) + math.prod(layer.pointwise_kernel.shape)
        return _spatial(output_shape) * kernels
    return 0


def _calls(model):
    """Every call of a layer in a built model with the shape it returned: a layer (or a nested
    model) that is called twice, as in averaging over a flipped copy, costs twice."""
    graph = getattr(model, "_functional", None) or model   # a built Sequential keeps one there
    by_depth = getattr(graph, "_nodes_by_depth", None)
    if not by_depth:
        raise ValueError(f"the model {model.name!r} has no graph of layers")
    for nodes in by_depth.values():
        for node in nodes:
            yield node.operation, node.outputs[0].shape


def multiply_adds(model) -> int:
    """Multiply-adds of a built functional or Sequential model for one input (convolutions and
    dense layers, once per call; BatchNorm, activations and pooling are left out: they are cheap
    beside them).

    Raises ``ValueError`` for a model whose layers have no known output shapes (a subclassed
    model, or a Sequential model that was never given an input shape)."""
    try:
        calls = list(_calls(model))
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"cannot count the multiply-adds of {model.name!r}: "
                         f"{_BUILD_FROM_INPUT}") from exc
    total = 0
    for layer, shape in calls:
        try:
            total += layer_multiply_adds(layer, shape)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ValueError(f"cannot count the multiply-adds of layer {layer.name!r}: "
                             f"{_BUILD_FROM_INPUT}") from exc
    return total
