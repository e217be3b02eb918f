"""Attention and Transformer layers: gradient checks, masks, pre-LN and post-LN."""
import numpy as np
import pytest

import minilm
import minilm.functional as F
from minilm import nn
from helpers import t64

R = np.random.default_rng(5)


def f64(module):
    module.to(dtype=np.float64)
    for p in module.parameters():            # random, non-zero weights and biases
        p.data[...] = R.uniform(-0.5, 0.5, p.shape)
    return module


def test_multihead_self_and_cross_attention_gradcheck():
    mha = f64(nn.MultiheadAttention(8, 2, batch_first=True))
    x, mem = t64(R.standard_normal((2, 4, 8))), t64(R.standard_normal((2, 5, 8)))
    params = list(mha.parameters())
    assert minilm.gradcheck(lambda x, *p: mha(x, x, x, is_causal=True)[0], [x] + params)
    pad = np.array([[False, False, False, True, True], [False] * 5])
    assert minilm.gradcheck(lambda x, m: mha(x, m, m, key_padding_mask=pad)[0], [x, mem])


def test_padding_mask_hides_keys():
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    x = minilm.tensor(R.standard_normal((1, 4, 8)).astype(np.float32))
    mem = R.standard_normal((1, 5, 8)).astype(np.float32)
    pad = np.array([[False, False, False, True, True]])
    a = mha(x, minilm.tensor(mem), minilm.tensor(mem), key_padding_mask=pad)[0].numpy()
    mem[0, 3:] = 100.0                           # change only the padded keys
    b = mha(x, minilm.tensor(mem), minilm.tensor(mem), key_padding_mask=pad)[0].numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_causal_attention_ignores_the_future():
    x = R.standard_normal((1, 2, 6, 4)).astype(np.float32)
    y1 = F.scaled_dot_product_attention(*(minilm.tensor(x),) * 3, is_causal=True).numpy()
    x[:, :, 4:] = 50.0
    y2 = F.scaled_dot_product_attention(*(minilm.tensor(x),) * 3, is_causal=True).numpy()
    np.testing.assert_allclose(y1[:, :, :4], y2[:, :, :4], atol=1e-6)


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
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)        # batch_first=False like PyTorch
    stack = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(8))
    assert len(stack.layers) == 3 and stack.layers[0] is not stack.layers[1]
    y = stack(minilm.tensor(R.standard_normal((5, 2, 8)).astype(np.float32)))
    assert y.shape == (5, 2, 8)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0), 2)
    assert dec(minilm.tensor(np.zeros((3, 2, 8), np.float32)), y).shape == (3, 2, 8)


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
