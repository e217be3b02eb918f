"""BERT: logits of a transformers BertForMaskedLM (fixtures/hf/bert), padding, the MLM loss, gradients."""
import json
import os
import shutil

import numpy as np
import pytest

import minilm
from helpers import FIXTURES
from minilm.models import BERT, BERTClassifier, BERTConfig

HF = os.path.join(FIXTURES, "hf")
REF = minilm.load(os.path.join(HF, "bert_logits.safetensors"))
TINY = BERTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, intermediate_size=12, dropout=0.0)


def test_logits_and_loss_equal_transformers_with_padding():
    model = BERT.from_pretrained(os.path.join(HF, "bert"))
    assert not model.training
    with minilm.no_grad():
        logits, loss = model(REF["input_ids"], REF["attention_mask"], REF["token_type_ids"], labels=REF["labels"])
    real = REF["attention_mask"].astype(bool)
    assert not real.all()                                     # the fixture has padding to mask
    error = np.abs(logits.numpy() - REF["logits"])[real].max() / np.abs(REF["logits"]).max()
    assert error < 1e-5, error
    np.testing.assert_allclose(loss.item(), REF["loss"], rtol=1e-5)


def test_padding_is_invisible_to_real_tokens():
    model = BERT.from_pretrained(os.path.join(HF, "bert"))
    ids, mask = REF["input_ids"].copy(), REF["attention_mask"]
    with minilm.no_grad():
        before = model(ids, mask).numpy()
        ids[mask == 0] = 7                                    # other ids at the padding positions
        after = model(ids, mask).numpy()
        unmasked = model(ids).numpy()                         # no mask: the padding is read
    real = mask.astype(bool)
    np.testing.assert_allclose(after[real], before[real], rtol=1e-5, atol=1e-6)
    assert np.abs(unmasked[1, :7] - before[1, :7]).max() > 1e-3


def test_config_is_mapped_and_bad_folders_are_refused(tmp_path):
    config = BERT.from_pretrained(os.path.join(HF, "bert")).config
    assert (config.vocab_size, config.n_layer, config.n_head, config.n_embd, config.intermediate_size,
            config.block_size, config.norm_eps) == (40, 2, 4, 32, 48, 16, 1e-12)
    folder = tmp_path / "bert"
    shutil.copytree(os.path.join(HF, "bert"), folder)
    hf = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**hf, "position_embedding_type": "relative_key"}))
    with pytest.raises(ValueError, match="relative_key"):
        BERT.from_pretrained(folder)
    (folder / "config.json").write_text(json.dumps({**hf, "model_type": "gpt2"}))
    with pytest.raises(ValueError, match="'gpt2' model"):
        BERT.from_pretrained(folder)
    (folder / "config.json").write_text(json.dumps({k: v for k, v in hf.items() if k != "hidden_size"}))
    with pytest.raises(ValueError, match="no 'hidden_size'"):
        BERT.from_pretrained(folder)
    (folder / "config.json").write_text(json.dumps(hf))
    os.remove(folder / "model.safetensors")
    (folder / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ValueError, match="pickle"):
        BERT.from_pretrained(folder)


def test_masked_lm_loss_counts_only_labelled_positions():
    minilm.manual_seed(0)
    model = BERT(TINY)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 11, (2, 6))
    labels = np.full((2, 6), -100)
    labels[0, 1], labels[1, 4], labels[1, 5] = 3, 9, 0
    logits, loss = model(ids, labels=labels)
    rows = logits.numpy()[labels != -100]                                   # (3, V)
    log_p = rows - np.log(np.exp(rows - rows.max(1, keepdims=True)).sum(1, keepdims=True)) - rows.max(1, keepdims=True)
    expected = -log_p[np.arange(3), labels[labels != -100]].mean()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)
    loss.backward()                          # d loss / d bias = mean over the labelled rows of p - onehot
    p_minus_onehot = np.exp(log_p)
    p_minus_onehot[np.arange(3), labels[labels != -100]] -= 1
    np.testing.assert_allclose(model.mlm_head.bias.grad, p_minus_onehot.mean(0), atol=1e-6)


def test_tiny_bert_gradcheck_float64():
    minilm.manual_seed(1)
    model = BERT(TINY).to(dtype=np.float64)
    rng = np.random.default_rng(1)
    for p in model.parameters():                                             # non-zero biases too
        p.data[...] = rng.uniform(-0.5, 0.5, p.shape)
    ids = rng.integers(0, 11, (2, 5))
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    segments = np.array([[0, 0, 1, 1, 1], [0, 1, 1, 0, 0]])
    labels = np.array([[-100, 2, -100, 7, -100], [4, -100, 1, -100, -100]])
    params = list(model.parameters())
    assert minilm.gradcheck(lambda *p: model(ids, mask, segments, labels=labels)[1], params, mode="directional")


def test_classifier_from_pretrained_body():
    minilm.manual_seed(2)
    bert = BERT(TINY)
    classifier = BERTClassifier.from_pretrained_bert(bert, num_classes=3)
    body = bert.state_dict()
    for name, value in classifier.state_dict().items():
        if name.startswith("bert."):
            np.testing.assert_array_equal(value, body[name])
    assert not any(name.startswith("mlm_head") for name in classifier.state_dict())
    ids, mask = np.array([[1, 2, 3, 0], [1, 4, 0, 0]]), np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    logits, loss = classifier(ids, mask, labels=np.array([2, 0]))
    assert logits.shape == (2, 3) and np.isfinite(loss.item())
    loss.backward()
    assert classifier.bert.embeddings.word_embeddings.weight.grad is not None


def test_bad_inputs_are_clear():
    model = BERT(TINY)
    with pytest.raises(ValueError, match="block_size is 8"):
        model(np.zeros((1, 9), np.int64))
    with pytest.raises(ValueError, match="attention_mask must have the shape"):
        model(np.zeros((2, 4), np.int64), attention_mask=np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape \\(B, T\\)"):
        model(np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="labels must have the shape of input_ids"):
        model(np.zeros((2, 4), np.int64), labels=np.zeros((2, 3), np.int64))


def test_a_row_of_padding_only_keeps_the_loss_and_gradients_finite():
    """An empty text in the batch (collate pads it to all zeros) must not turn the loss into NaN."""
    model = BERT(TINY)
    ids = np.array([[1, 5, 6, 2], [0, 0, 0, 0]])
    labels = np.array([[-100, 5, -100, -100], [-100] * 4])
    _, loss = model(ids, attention_mask=np.array([[1, 1, 1, 1], [0, 0, 0, 0]]), labels=labels)
    _, alone = model(ids[:1], labels=labels[:1])
    np.testing.assert_allclose(loss.item(), alone.item(), rtol=1e-6)
    loss.backward()
    assert all(np.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_save_pretrained_round_trip_and_no_silent_overwrite(tmp_path):
    """(That transformers loads what save_pretrained writes is checked by fixtures/make_bert_fixtures.py.)"""
    model = BERT.from_pretrained(os.path.join(HF, "bert"))
    model.save_pretrained(tmp_path / "saved")
    again = BERT.from_pretrained(tmp_path / "saved")
    assert again.config == model.config
    with minilm.no_grad():
        np.testing.assert_array_equal(again(REF["input_ids"], REF["attention_mask"], REF["token_type_ids"]).numpy(),
                                      model(REF["input_ids"], REF["attention_mask"], REF["token_type_ids"]).numpy())
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save_pretrained(tmp_path / "saved")
