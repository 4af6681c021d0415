"""What a model costs to run: multiply-adds per image, counted from its layers.

A budget in multiply-adds does not depend on the machine: the same model costs the same count on
a laptop and on a server, while its seconds per epoch do not.
"""
from __future__ import annotations

import math


def _spatial(shape) -> int:
    """Positions of one feature map of ``shape`` (batch axis first, channels last)."""
    return math.prod(int(d) for d in shape[1:-1])


def layer_multiply_adds(layer) -> int:
    """Multiply-adds of one layer for one image (0 for layers without weights to multiply)."""
    import keras

    kind = keras.layers
    if isinstance(layer, keras.Model):
        return multiply_adds(layer)
    if isinstance(layer, (kind.Conv1D, kind.Conv2D, kind.Conv3D, kind.DepthwiseConv1D,
                          kind.DepthwiseConv2D, kind.Dense)):
        # kernel (*window, channels in / groups, filters); a Dense on a flat input has 1 position
        return _spatial(layer.output.shape) * math.prod(layer.kernel.shape)
    if isinstance(layer, (kind.SeparableConv1D, kind.SeparableConv2D)):
        # the depthwise step takes the layer's strides and padding: both steps run at the output
        kernels = math.prod(layer.depthwise_kernel.shape) + math.prod(layer.pointwise_kernel.shape)
        return _spatial(layer.output.shape) * kernels
    return 0


def multiply_adds(model) -> int:
    """Multiply-adds of a built functional or Sequential model for one input (convolutions and
    dense layers; BatchNorm, activations and pooling are left out: they are cheap beside them).

    Raises ``ValueError`` for a model whose layers have no known output shapes (a subclassed
    model that was never called on a symbolic input)."""
    total = 0
    for layer in model.layers:
        try:
            total += layer_multiply_adds(layer)
        except (AttributeError, ValueError) as exc:
            raise ValueError(f"cannot count the multiply-adds of layer {layer.name!r}: build the "
                             "model from keras.Input (functional or Sequential)") from exc
    return total
