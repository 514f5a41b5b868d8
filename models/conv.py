"""A Conv2D whose input gradient is a forward convolution.

TensorFlow's CPU kernel for ``Conv2DBackpropInput`` (Eigen's, used wherever oneDNN is
off by default: every CPU without AVX-512 VNNI/BF16 or AMX) is pathological on the
small feature maps the ResNet's ImageNet stem leaves on 32×32 images: at 2×2 and 1×1
it is 20–150× slower than the forward convolution of the same shape, and a training
step spends almost all of its time there (bench/README.md, "The step on an AVX2 CPU").
The forward kernel is fast on every CPU, so this layer computes the input gradient as
the forward convolution of the (dilated, for stride > 1) output gradient with the
spatially flipped, in/out-transposed kernel. The filter gradient stays TensorFlow's.

The layer is a drop-in subclass of ``tf_keras.layers.Conv2D``: same variables, same
names, same checkpoints; only the backward computation differs (to float rounding).
"""

from __future__ import annotations

import tfq_ssl  # noqa: F401  (TF_USE_LEGACY_KERAS before TF)
import numpy as np
import tensorflow as tf
import tf_keras


Pads = tuple[tuple[int, int], tuple[int, int]]


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME padding (before, after) along one axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _used_taps(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """The first and last kernel tap that meets the input (not padding) at some output."""
    before, _ = same_padding(size, kernel, stride)
    out = -(-size // stride)
    used = [t for t in range(kernel)
            if any(0 <= o * stride + t - before < size for o in range(out))]
    return used[0], used[-1]


def trim_same(size_hw: tuple[int, int], kernel_hw: tuple[int, int], stride: int
              ) -> tuple[tuple[slice, slice], Pads]:
    """The kernel taps a SAME convolution actually uses, and the padding that keeps its output.

    On small maps most taps of a SAME convolution only ever meet padding (at 1×1, eight
    of a 3×3 kernel's nine): the convolution with those taps removed, and the padding
    shifted to match, is the same function with fewer operations.

    Returns:
        The slices of the kernel's two spatial axes, and the explicit (before, after)
        padding of each axis for the trimmed kernel.
    """
    slices, pads = [], []
    for size, k in zip(size_hw, kernel_hw):
        first, last = _used_taps(size, k, stride)
        before = same_padding(size, k, stride)[0] - first
        width = last - first + 1
        out = -(-size // stride)
        after = max(0, (out - 1) * stride + width - size - before)
        slices.append(slice(first, last + 1))
        pads.append((before, after))
    return (slices[0], slices[1]), (pads[0], pads[1])


def _dilate(dy: tf.Tensor, stride: int) -> tf.Tensor:
    """Insert ``stride - 1`` zeros between the rows and columns of ``dy``."""
    if stride == 1:
        return dy
    out_h, out_w, channels = (int(d) for d in dy.shape[1:])
    z = dy[:, :, None, :, None, :]
    z = tf.pad(z, [[0, 0], [0, 0], [0, stride - 1], [0, 0], [0, stride - 1], [0, 0]])
    z = tf.reshape(z, [-1, out_h * stride, out_w * stride, channels])
    return z[:, : (out_h - 1) * stride + 1, : (out_w - 1) * stride + 1, :]


def conv2d_input_grad(dy: tf.Tensor, kernel: tf.Tensor, input_hw: tuple[int, int],
                      stride: int, pads: Pads) -> tf.Tensor:
    """The gradient of :func:`conv2d` with respect to its input.

    ``dx[i] = Σ_t dy_dilated[i + pad_before - t] · kernel[t]``: a forward convolution
    of the dilated ``dy``, padded by ``k - 1 - pad_before`` before, with the kernel
    flipped in space and its in/out channels swapped; rows past the input's end (they
    fall on the forward pass's padding) are cut off.

    Args:
        dy: ``(batch, out_h, out_w, out_channels)`` gradient of the output.
        kernel: ``(kh, kw, in_channels, out_channels)``.
        input_hw: the input's static (height, width).
        stride: the same stride along both axes.
        pads: the forward pass's explicit (before, after) padding of each axis.

    Returns:
        ``(batch, height, width, in_channels)``.
    """
    z = _dilate(dy, stride)
    grad_pads = []
    for size, k, (before, _), length in zip(input_hw, kernel.shape[:2], pads, z.shape[1:3]):
        k = int(k)
        grad_pads.append([k - 1 - before, max(0, size + before - int(length))])
    flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
    dx = tf.nn.conv2d(z, flipped, 1, [[0, 0], grad_pads[0], grad_pads[1], [0, 0]])
    return dx[:, : input_hw[0], : input_hw[1], :]


def conv2d_filter_grad(x: tf.Tensor, dy: tf.Tensor, kernel_shape: tf.TensorShape,
                       stride: int, pads: Pads) -> tf.Tensor:
    """The gradient of :func:`conv2d` with respect to its kernel.

    TensorFlow's ``Conv2DBackpropFilter``, except where the output is at most 2×2: there
    Eigen's kernel is slower than one matrix product of the input's patches (im2col)
    with ``dy``, and the patches are small.
    """
    kh, kw, c_in, c_out = (int(d) for d in kernel_shape)
    explicit = [[0, 0], list(pads[0]), list(pads[1]), [0, 0]]
    if int(dy.shape[1]) * int(dy.shape[2]) > 4:
        same = (pads == (same_padding(int(x.shape[1]), kh, stride),
                         same_padding(int(x.shape[2]), kw, stride)))
        # SAME where it is SAME: oneDNN replaces that op with its own kernel, not the
        # EXPLICIT one.
        return tf.raw_ops.Conv2DBackpropFilter(
            input=x, filter_sizes=[kh, kw, c_in, c_out], out_backprop=dy,
            strides=[1, stride, stride, 1], padding="SAME" if same else "EXPLICIT",
            explicit_paddings=[] if same else sum(explicit, []))
    # Each patch is flattened in (kh, kw, c_in) order, the kernel's own layout.
    patches = tf.image.extract_patches(tf.pad(x, explicit), [1, kh, kw, 1],
                                       [1, stride, stride, 1], [1, 1, 1, 1], "VALID")
    patches = tf.reshape(patches, [-1, kh * kw * c_in])
    grad = tf.matmul(patches, tf.reshape(dy, [-1, c_out]), transpose_a=True)
    return tf.reshape(grad, [kh, kw, c_in, c_out])


def conv2d(x: tf.Tensor, kernel: tf.Tensor, stride: int, pads: Pads) -> tf.Tensor:
    """``tf.nn.conv2d`` with explicit padding and the gradients above.

    Needs the input's height and width to be static (they are in a Keras model with
    a fixed input shape).
    """
    input_hw = (int(x.shape[1]), int(x.shape[2]))
    kernel = tf.convert_to_tensor(kernel)  # a variable's value, so the gradient reaches it
    explicit = [[0, 0], list(pads[0]), list(pads[1]), [0, 0]]

    @tf.custom_gradient
    def _conv(x, kernel):
        def grad(dy):
            return (conv2d_input_grad(dy, kernel, input_hw, stride, pads),
                    conv2d_filter_grad(x, dy, kernel.shape, stride, pads))
        return tf.nn.conv2d(x, kernel, stride, explicit), grad

    return _conv(x, kernel)


def conv2d_same(x: tf.Tensor, kernel: tf.Tensor, stride: int) -> tf.Tensor:
    """``tf.nn.conv2d(x, kernel, stride, "SAME")``, computed with the taps that meet the
    input only (:func:`trim_same`) and the gradients of :func:`conv2d`."""
    (rows, cols), pads = trim_same((int(x.shape[1]), int(x.shape[2])),
                                   (int(kernel.shape[0]), int(kernel.shape[1])), stride)
    kernel = tf.convert_to_tensor(kernel)
    if (rows.stop - rows.start, cols.stop - cols.start) != tuple(kernel.shape[:2]):
        kernel = kernel[rows, cols]
    return conv2d(x, kernel, stride, pads)


def conv2d_same_dense(x: tf.Tensor, kernel: tf.Tensor, stride: int) -> tf.Tensor:
    """``tf.nn.conv2d(x, kernel, stride, "SAME")`` on a small map as one matrix product.

    On a map of at most 2×2 the convolution is a linear map from the H·W·C_in inputs to
    the H_out·W_out·C_out outputs whose blocks are kernel taps (or zero where a tap
    only meets padding). One dense product computes it without the padding taps a
    convolution kernel would multiply, and its gradients are products too.
    """
    height, width, c_in = (int(d) for d in x.shape[1:])
    kh, kw, _, c_out = (int(d) for d in kernel.shape)
    (top, _), (left, _) = (same_padding(height, kh, stride), same_padding(width, kw, stride))
    out_h, out_w = -(-height // stride), -(-width // stride)
    # Block (input position, output position) is tap index ti·kw + tj, or the zero
    # block appended at index kh·kw; one gather builds every block (its gradient is one
    # segment sum, where a slice per block would cost a kernel-sized gradient each).
    index = np.full((height * width, out_h * out_w), kh * kw, np.int32)
    for i in range(height):
        for j in range(width):
            for oi in range(out_h):
                for oj in range(out_w):
                    ti, tj = i - oi * stride + top, j - oj * stride + left
                    if 0 <= ti < kh and 0 <= tj < kw:
                        index[i * width + j, oi * out_w + oj] = ti * kw + tj
    taps = tf.concat([tf.reshape(kernel, [kh * kw, c_in, c_out]),
                      tf.zeros([1, c_in, c_out], kernel.dtype)], axis=0)
    blocks = tf.gather(taps, index)  # (H·W, H_out·W_out, c_in, c_out)
    matrix = tf.reshape(tf.transpose(blocks, [0, 2, 1, 3]),
                        [height * width * c_in, out_h * out_w * c_out])
    y = tf.matmul(tf.reshape(x, [-1, height * width * c_in]), matrix)
    return tf.reshape(y, [-1, out_h, out_w, c_out])


@tf_keras.utils.register_keras_serializable(package="tfq_ssl")
class Conv2D(tf_keras.layers.Conv2D):
    """``tf_keras.layers.Conv2D`` (SAME padding, square stride, no dilation or groups)
    whose input gradient is computed by :func:`conv2d_input_grad`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if (self.padding != "same" or self.strides[0] != self.strides[1]
                or tuple(self.dilation_rate) != (1, 1) or self.groups != 1
                or self.data_format != "channels_last"):
            raise ValueError(
                "models.conv.Conv2D supports padding='same', equal strides, no dilation, "
                f"groups=1 and channels_last; got padding={self.padding!r}, "
                f"strides={self.strides}, dilation_rate={self.dilation_rate}, "
                f"groups={self.groups}, data_format={self.data_format!r}.")

    def convolution_op(self, inputs, kernel):
        if inputs.shape[1] is None or inputs.shape[2] is None:
            return super().convolution_op(inputs, kernel)
        if inputs.shape[1] * inputs.shape[2] <= 4:
            return conv2d_same_dense(inputs, kernel, self.strides[0])
        return conv2d_same(inputs, kernel, self.strides[0])
