"""minilm.nn: layers as Modules, with PyTorch's names, shapes and initialisations."""
from .activation import GELU, Dropout, ReLU, Sigmoid, Tanh
from .embedding import Embedding
from .linear import Linear
from .module import Module, ModuleList, Parameter, Sequential
from .normalization import LayerNorm
from . import init

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Embedding", "LayerNorm",
           "Dropout", "ReLU", "GELU", "Tanh", "Sigmoid", "init"]
