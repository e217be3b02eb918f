"""minilm.nn: layers as Modules, with PyTorch's names, shapes and initialisations."""
from .activation import GELU, Dropout, ReLU, ReLUSquared, Sigmoid, SiLU, Tanh
from .embedding import Embedding
from .linear import Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from .attention import MultiheadAttention, MultiHeadAttention
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .positional import LearnedPositionalEmbedding, PositionalEncoding
from .transformer import (TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)
from .normalization import LayerNorm, RMSNorm
from .rotary import RotaryEmbedding
from . import init

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "MultiheadAttention",
           "MultiHeadAttention", "PositionalEncoding", "LearnedPositionalEmbedding",
           "TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder", "Linear", "Embedding", "LayerNorm",
           "RMSNorm", "RotaryEmbedding", "Dropout", "ReLU", "ReLUSquared", "GELU", "SiLU", "Tanh", "Sigmoid", "init",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss"]
