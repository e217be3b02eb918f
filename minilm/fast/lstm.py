"""An LSTM layer on NumPy with the cores handed to BLAS's own threads for its duration.

The layer (ops/lstm.py, LSTMLayer) is T thin products in a row, with a little
element-wise work between them: too thin to cut among minilm's threads. For
them BLAS's own threads, which wait spinning between two products, use the cores
best, so minilm hands BLAS the cores for the layer's forward and for its backward
(threads.cores_to_blas) and takes them back after. Two alternatives measured
slower: the batch cut into one part per thread of minilm's pool (thinner
products, and the parts' element-wise calls queue for Python's interpreter
lock), and each step's product cut by rows (benchmarks/RESULTS.md).
"""
import numpy as np

from ..dispatch import register
from ..ops.lstm import LSTMLayer
from . import threads


class BlasThreadsLSTMLayer(LSTMLayer):
    def applies(self, x, *arrays):
        return isinstance(x, np.ndarray)

    def forward(self, *inputs):
        with threads.cores_to_blas():
            return super().forward(*inputs)

    def backward(self, *grads):
        with threads.cores_to_blas():
            return super().backward(*grads)


register(LSTMLayer, "cpu", BlasThreadsLSTMLayer)
