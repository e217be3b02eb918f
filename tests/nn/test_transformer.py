"""Transformer layers and stacks: gradient checks, pre-LN and post-LN, parity with PyTorch."""
import numpy as np
import pytest

import minilm
from minilm import nn
from helpers import fixture, t64

R = np.random.default_rng(5)


def f64(module):
    module.to(dtype=np.float64)
    for p in module.parameters():            # random, non-zero weights and biases
        p.data[...] = R.uniform(-0.5, 0.5, p.shape)
    return module


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_and_decoder_layers_gradcheck(norm_first, activation):
    enc = f64(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=activation, batch_first=True,
                                         norm_first=norm_first))
    dec = f64(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, activation=activation, batch_first=True,
                                         norm_first=norm_first))
    src, tgt = t64(R.standard_normal((2, 5, 8))), t64(R.standard_normal((2, 3, 8)))
    assert minilm.gradcheck(lambda s, *p: enc(s), [src] + list(enc.parameters()), mode="directional")
    assert minilm.gradcheck(lambda t, s: dec(t, enc(s)), [tgt, src])


def test_stacks_and_sequence_first_layout():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=False)   # PyTorch's (T, B, C)
    stack = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(8))
    assert len(stack.layers) == 3 and stack.layers[0] is not stack.layers[1]
    y = stack(minilm.tensor(R.standard_normal((5, 2, 8)).astype(np.float32)))
    assert y.shape == (5, 2, 8)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=False), 2)
    assert dec(minilm.tensor(np.zeros((3, 2, 8), np.float32)), y).shape == (3, 2, 8)


def test_stacks_gradcheck():
    enc = f64(nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2, norm=nn.LayerNorm(8)))
    dec = f64(nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0), 2, norm=nn.LayerNorm(8)))
    src, tgt = t64(R.standard_normal((2, 5, 8))), t64(R.standard_normal((2, 3, 8)))
    pad = np.array([[False] * 4 + [True], [False] * 5])
    params = list(enc.parameters()) + list(dec.parameters())
    assert minilm.gradcheck(lambda s, t, *p: dec(t, enc(s, src_key_padding_mask=pad), memory_key_padding_mask=pad),
                            [src, tgt] + params, mode="directional")


def test_positional_encodings():
    pe = nn.PositionalEncoding(6, max_len=10)
    assert "pe" not in pe.state_dict()
    y = pe(minilm.tensor(np.zeros((1, 3, 6), np.float32))).numpy()[0]
    np.testing.assert_allclose(y[1, 0], np.sin(1.0), atol=1e-6)
    np.testing.assert_allclose(y[2, 1], np.cos(2.0), atol=1e-6)
    learned = nn.LearnedPositionalEmbedding(10, 6)
    x = t64(R.standard_normal((2, 4, 6)))
    learned.to(dtype=np.float64)
    assert minilm.gradcheck(lambda x, w: learned(x), [x, learned.embedding.weight])
    with pytest.raises(ValueError, match="max_len"):
        pe(minilm.tensor(np.zeros((1, 11, 6), np.float32)))


@pytest.mark.parametrize("tag,norm_first,activation", [("post", False, "relu"), ("pre", True, "gelu")])
def test_layers_match_pytorch(tag, norm_first, activation):
    d = fixture("attn_layers.safetensors")
    kw = dict(dim_feedforward=16, dropout=0.0, activation=activation, norm_first=norm_first)
    enc, dec = nn.TransformerEncoderLayer(8, 2, **kw), nn.TransformerDecoderLayer(8, 2, **kw)
    for name, layer in (("enc", enc), ("dec", dec)):
        prefix = f"{name}_{tag}.state."
        layer.load_state_dict({k[len(prefix):]: v for k, v in d.items() if k.startswith(prefix)})
    x, memory, pad = minilm.tensor(d["x"]), minilm.tensor(d["memory"]), d["pad"].astype(bool)
    np.testing.assert_allclose(enc(memory, src_key_padding_mask=pad).numpy(), d[f"enc_{tag}.y"], atol=1e-5)
    np.testing.assert_allclose(dec(x, memory, memory_key_padding_mask=pad).numpy(), d[f"dec_{tag}.y"], atol=1e-5)
