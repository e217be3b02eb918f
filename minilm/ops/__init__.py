"""The differentiable ops: one Function class per op, forward and backward side by side.

`minilm.functional` wraps each class in a lowercase function; read the files
in this order: elementwise, reduction, shape, matmul, softmax, loss (then
the other losses: nll_loss, binary_loss, regression_loss), layer_norm,
embedding, dropout.
"""
