"""GPTClassifier: loads a GPT body, pools past padding, learns."""
import numpy as np
import pytest

import minilm
from minilm.models import GPT, GPTClassifier, GPTConfig

CFG = GPTConfig(vocab_size=12, block_size=10, n_layer=1, n_head=2, n_embd=16)


def test_body_loads_from_a_pretrained_gpt():
    gpt = GPT(CFG)
    clf = GPTClassifier.from_pretrained_gpt(gpt, num_classes=3)
    assert np.array_equal(clf.transformer.h[0].attn.c_attn.weight.numpy(), gpt.transformer.h[0].attn.c_attn.weight.numpy())
    assert "lm_head.weight" not in clf.state_dict() and "head.weight" in clf.state_dict()


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_padding_does_not_change_the_logits(pooling):
    clf = GPTClassifier(CFG, 3, pooling=pooling).eval()
    a, _ = clf(np.array([[1, 2, 3]]))
    b, _ = clf(np.array([[1, 2, 3, 0, 0]]), pad_mask=np.array([[False, False, False, True, True]]))
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_learns_a_toy_task():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 12, (64, 6))
    labels = (ids == 5).any(1).astype(np.int64)            # does the sequence contain token 5?
    clf = GPTClassifier(CFG, 2)
    opt = minilm.optim.AdamW(clf.parameters(), lr=3e-3)
    for _ in range(150):
        _, loss = clf(ids, labels=labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (clf(ids)[0].numpy().argmax(1) == labels).mean() > 0.95
