"""Decoding: feeding several tokens at once through the KV cache gives the logits of a full forward pass."""
import numpy as np

from minilm.models import GPT, GPTConfig
from minilm.models.decoding import Decoding


def test_fed_chunks_match_a_full_forward_and_the_window_slides():
    model = GPT(GPTConfig(block_size=12, vocab_size=20, n_layer=2, n_head=2, n_embd=16)).eval()
    ids = np.random.default_rng(0).integers(0, 20, size=(2, 20))
    decoding = Decoding(model, ids[:, :4])
    for start, stop in ((4, 7), (7, 8), (8, 11)):                    # 11 tokens: still inside the window
        decoding.feed(ids[:, start:stop])
        decoding.sample(temperature=0)
        full = model(ids[:, :stop])[0].numpy()[:, -1]               # (B, V)
        np.testing.assert_allclose(decoding.last_logits, full, rtol=1e-4, atol=1e-5)
    decoding.feed(ids[:, 11:20])                                     # past block_size: restarts on the last 6
    decoding.sample(temperature=0)
    np.testing.assert_allclose(decoding.last_logits, model(ids[:, 14:20])[0].numpy()[:, -1], rtol=1e-4, atol=1e-5)
    assert decoding.idx.tolist() == ids.tolist()
