"""The compact Conv1D over MFCC frames, built from ops that quantize cleanly to int8.

Conv1D (no bias) -> BatchNorm (folded into the conv at conversion) -> ReLU ->
MaxPool, repeated; global average (optionally also max) pooling over time; dropout;
dense; softmax. Every op has an int8 TFLite kernel (CONV_2D, MAX_POOL_2D, MEAN,
REDUCE_MAX, CONCATENATION, FULLY_CONNECTED, SOFTMAX), so full-integer conversion
needs no float fallbacks.
"""

from __future__ import annotations

from ser_train.config import ModelConfig


def build_model(frames: int, coeffs: int, n_classes: int, config: ModelConfig):
    """Keras model: (batch, frames, coeffs) float32 -> (batch, n_classes) softmax."""
    import keras
    from keras import layers

    reg = keras.regularizers.l2(config.l2) if config.l2 else None
    inputs = keras.Input(shape=(frames, coeffs), name="mfcc")
    x = inputs
    for i, width in enumerate(config.block_widths()):
        x = layers.Conv1D(width, config.kernel, padding="same", use_bias=False, kernel_regularizer=reg, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        if i < config.depth - 1:
            x = layers.MaxPooling1D(2, name=f"pool{i}")(x)
    if config.pooling == "mean+max":
        x = layers.Concatenate(name="time_pool")([layers.GlobalAveragePooling1D(name="time_mean")(x),
                                                  layers.GlobalMaxPooling1D(name="time_max")(x)])
    else:
        x = layers.GlobalAveragePooling1D(name="time_pool")(x)
    x = layers.Dropout(config.dropout, name="dropout")(x)
    x = layers.Dense(n_classes, kernel_regularizer=reg, name="logits")(x)
    outputs = layers.Softmax(name="scores")(x)
    return keras.Model(inputs, outputs, name="ser_conv1d")
