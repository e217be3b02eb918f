"""Transformer encoder and decoder layers (Vaswani et al., 2017), and their stacks.

Encoder layer: self-attention, then a position-wise feed-forward network,
each wrapped in a residual connection with layer norm:

    pre-LN (default, norm_first=True):   x = x + SA(LN1(x));  x = x + FF(LN2(x))
    post-LN (the paper, norm_first=False): x = LN1(x + SA(x));  x = LN2(x + FF(x))

Pre-LN keeps an identity path from input to output, so deep stacks train
without careful warmup; post-LN is the original arrangement.

Decoder layer: masked (causal) self-attention over the target so far, then
cross-attention whose keys and values come from the encoder's output
("memory"), then the feed-forward network; the same three residual blocks.

Names follow torch.nn.Transformer{Encoder,Decoder}Layer: self_attn,
multihead_attn, linear1, linear2, norm1..norm3, so PyTorch weights load
unchanged. Defaults that differ from PyTorch's: norm_first=True (pre-LN),
batch_first=True ((B, T, C), minilm's layout), and the decoder's
tgt_is_causal=True (its self-attention is causal without building a tgt_mask;
in PyTorch the flag is only a hint about the mask passed).
"""
import copy

from .. import functional as F
from .activation import Dropout
from .attention import MultiheadAttention
from .linear import Linear
from .module import Module, ModuleList
from .normalization import LayerNorm


class TransformerEncoderLayer(Module):
    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=True, norm_first=True, bias=True):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first=True)
        self._init_feedforward(d_model, dim_feedforward, dropout, activation, bias)
        self.norm1 = LayerNorm(d_model, layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, layer_norm_eps, bias=bias)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.batch_first, self.norm_first = batch_first, norm_first

    def _init_feedforward(self, d_model, dim_feedforward, dropout, activation, bias):
        if activation not in ("relu", "gelu"):
            raise ValueError(f"activation must be 'relu' or 'gelu', got {activation!r}")
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.activation = activation

    def _feedforward(self, x):
        """linear2(dropout(act(linear1(x)))): widen to dim_feedforward, nonlinearity, narrow again."""
        h = self.linear1(x)
        h = F.relu(h) if self.activation == "relu" else F.gelu(h)
        return self.linear2(self.dropout(h))

    def _self_attention(self, x, attn_mask, key_padding_mask, is_causal):
        return self.self_attn(x, x, x, key_padding_mask=key_padding_mask, attn_mask=attn_mask,
                              is_causal=is_causal)[0]

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src if self.batch_first else src.transpose(0, 1)           # (B, T, C)
        if self.norm_first:
            x = x + self.dropout1(self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal))
            x = x + self.dropout2(self._feedforward(self.norm2(x)))
        else:
            x = self.norm1(x + self.dropout1(self._self_attention(x, src_mask, src_key_padding_mask, is_causal)))
            x = self.norm2(x + self.dropout2(self._feedforward(x)))
        return x if self.batch_first else x.transpose(0, 1)


class TransformerDecoderLayer(TransformerEncoderLayer):
    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=True, norm_first=True, bias=True):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         batch_first, norm_first, bias)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first=True)
        self.norm3 = LayerNorm(d_model, layer_norm_eps, bias=bias)
        self.dropout3 = Dropout(dropout)

    def _cross_attention(self, x, memory, memory_mask, memory_key_padding_mask):
        return self.multihead_attn(x, memory, memory, key_padding_mask=memory_key_padding_mask,
                                   attn_mask=memory_mask)[0]

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=True):
        x = tgt if self.batch_first else tgt.transpose(0, 1)            # (B, T, C)
        m = memory if self.batch_first else memory.transpose(0, 1)     # (B, S, C)
        sa = lambda y: self._self_attention(y, tgt_mask, tgt_key_padding_mask, tgt_is_causal)  # noqa: E731
        ca = lambda y: self._cross_attention(y, m, memory_mask, memory_key_padding_mask)       # noqa: E731
        if self.norm_first:
            x = x + self.dropout1(sa(self.norm1(x)))
            x = x + self.dropout2(ca(self.norm2(x)))
            x = x + self.dropout3(self._feedforward(self.norm3(x)))
        else:
            x = self.norm1(x + self.dropout1(sa(x)))
            x = self.norm2(x + self.dropout2(ca(x)))
            x = self.norm3(x + self.dropout3(self._feedforward(x)))
        return x if self.batch_first else x.transpose(0, 1)


class TransformerEncoder(Module):
    """num_layers copies of encoder_layer applied in turn, then an optional final norm."""

    def __init__(self, encoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = ModuleList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        for layer in self.layers:
            x = layer(x, mask, src_key_padding_mask, is_causal)
        return self.norm(x) if self.norm is not None else x


class TransformerDecoder(Module):
    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = ModuleList(copy.deepcopy(decoder_layer) for _ in range(num_layers))
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=True):
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask,
                      tgt_is_causal)
        return self.norm(x) if self.norm is not None else x
