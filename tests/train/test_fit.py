"""fit(): learns a non-linear problem, stops early, checkpoints and resumes, metrics by name, clear errors."""
import math
import os

import numpy as np
import pytest

import minilm
import minilm.functional as F
from minilm import nn
from minilm.data import collate_encoder
from minilm.metrics import accuracy, perplexity, precision_recall_f1, roc_auc
from minilm.models import BERTClassifier, BERTConfig
from minilm.optim import SGD, AdamW, CosineWarmupLR
from minilm.train import History, evaluate, fit, load_checkpoint


def circles(n, seed):
    """Points in the plane; class 1 inside the radius-1 circle, 0 in the ring around it: not linearly separable."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.6, 1.6, (n, 2)).astype(np.float32)
    return x, (np.hypot(x[:, 0], x[:, 1]) < 1.0).astype(np.int64)


TRAIN, VAL = circles(600, 0), circles(200, 1)


def mlp(seed=0):
    minilm.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))


def test_mlp_learns_a_non_linear_problem():
    model = mlp()
    history = fit(model, TRAIN, loss_fn=F.cross_entropy, optimizer=AdamW(model.parameters(), lr=0.02, weight_decay=0.0),
                  epochs=25, batch_size=32, val_data=VAL, metrics=["accuracy"], progress=False, seed=0)
    assert isinstance(history, History) and history.epoch == list(range(25))
    assert set(history.history) == {"loss", "val_loss", "val_accuracy"}
    assert all(len(v) == 25 for v in history.history.values())
    assert history.history["val_accuracy"][-1] >= 0.95, history.history["val_accuracy"]
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_metrics_by_name_equal_minilm_metrics():
    model = mlp(1)
    fit(model, TRAIN, loss_fn=F.cross_entropy, optimizer=AdamW(model.parameters(), lr=0.01), epochs=2,
        batch_size=64, progress=False, seed=0)
    logs = evaluate(model, VAL, F.cross_entropy, ["accuracy", "f1", "roc_auc", "perplexity", "precision", "recall"],
                    batch_size=64)
    model.eval()
    with minilm.no_grad():
        logits = model(minilm.tensor(VAL[0]))
        loss = F.cross_entropy(logits, VAL[1]).item()
        probabilities = F.softmax(logits, -1).numpy()
    pred = probabilities.argmax(1)
    p, r, f1 = precision_recall_f1(pred, VAL[1], "macro", 2)
    assert logs["val_loss"] == pytest.approx(loss, rel=1e-5)
    assert logs["val_accuracy"] == accuracy(pred, VAL[1])
    assert (logs["val_precision"], logs["val_recall"], logs["val_f1"]) == pytest.approx((p, r, f1))
    assert logs["val_roc_auc"] == pytest.approx(roc_auc(probabilities[:, 1], VAL[1]))
    assert logs["val_perplexity"] == pytest.approx(perplexity(loss), rel=1e-5)


def test_early_stopping_stops():
    model = mlp()
    history = fit(model, TRAIN, loss_fn=nn.CrossEntropyLoss(), optimizer=SGD(model.parameters(), lr=0.0), epochs=20,
                  batch_size=100, val_data=VAL, early_stopping=2, progress=False)
    assert len(history.epoch) == 3                  # epoch 1 sets the best, 2 and 3 do not improve: stop
    history = fit(mlp(), TRAIN, loss_fn=F.cross_entropy, optimizer=AdamW(mlp().parameters()), epochs=2,
                  batch_size=100, val_data=VAL, early_stopping=5, progress=False)
    assert len(history.epoch) == 2


def test_checkpoint_reloads_to_the_best_val_loss_and_resumes_exactly(tmp_path):
    def run(epochs, resume=False, checkpoint_dir=tmp_path / "run"):
        model = mlp()
        opt = AdamW(model.parameters(), lr=0.05)
        history = fit(model, TRAIN, loss_fn=F.cross_entropy, optimizer=opt, epochs=epochs, batch_size=50,
                      val_data=VAL, lr_schedule=CosineWarmupLR(opt, 5, 60), grad_clip=1.0,
                      checkpoint_dir=checkpoint_dir, resume=resume, progress=False, seed=3)
        return model, history

    model, history = run(3)
    assert os.path.exists(tmp_path / "run" / "checkpoint.json")
    fresh = load_checkpoint(mlp(7), tmp_path / "run")
    best = min(history.history["val_loss"])
    assert evaluate(fresh, VAL, F.cross_entropy)["val_loss"] == pytest.approx(best, rel=1e-6)
    with pytest.raises(FileExistsError, match="resume=True"):
        run(5)                                      # nothing trained is overwritten silently
    resumed, resumed_history = run(5, resume=True)
    straight, straight_history = run(5, checkpoint_dir=tmp_path / "straight")
    assert resumed_history.epoch == list(range(5))
    np.testing.assert_allclose(resumed_history.history["val_loss"], straight_history.history["val_loss"], rtol=1e-6)
    for a, b in zip(resumed.parameters(), straight.parameters()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)


def test_lr_schedule_as_a_function_is_stepped_every_batch():
    model = mlp()
    opt = SGD(model.parameters(), lr=0.1)
    fit(model, TRAIN, loss_fn=F.cross_entropy, optimizer=opt, epochs=2, batch_size=100,
        lr_schedule=lambda step, base: base / (1 + step), progress=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 / 13)       # 2 epochs of 6 batches


def test_a_dataset_with_collate_padding_and_ignored_targets():
    """Variable-length sequences through collate_encoder into a BERT classifier; -100 targets are not counted."""
    rng = np.random.default_rng(0)
    examples = [(list(rng.integers(1, 9, rng.integers(2, 7))), int(rng.integers(0, 2))) for _ in range(40)]
    minilm.manual_seed(0)
    model = BERTClassifier(BERTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8, dropout=0.0), 2)
    history = fit(model, examples, loss_fn=F.cross_entropy, optimizer=AdamW(model.parameters(), lr=1e-3),
                  epochs=2, batch_size=16, val_data=examples[:10], metrics=["accuracy", "f1"],
                  collate=collate_encoder, progress=False)
    assert all(math.isfinite(v) for values in history.history.values() for v in values)
    identity = nn.Linear(4, 4, bias=False)                               # logits = the inputs
    identity.weight.data[...] = np.eye(4)
    logits = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    targets = np.array([[3, -100, -100], [-100, -100, 1]])              # two counted targets of six
    logs = evaluate(identity, (logits, targets), lambda out, y: F.cross_entropy(out.reshape(-1, 4), y.reshape(-1)),
                    ["accuracy"], batch_size=1)                          # batches with 1 and 1 counted
    rows = logits[targets != -100]
    expected = np.mean([np.log(np.exp(r).sum()) - r[t] for r, t in zip(rows, [3, 1])])
    assert logs["val_loss"] == pytest.approx(expected, rel=1e-5)
    assert logs["val_accuracy"] == accuracy(rows.argmax(1), np.array([3, 1]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(metrics=["acc"]), "unknown metric 'acc'"),
    (dict(train_data=(np.zeros((0, 2), np.float32), np.zeros(0, np.int64))), "train_data is empty"),
    (dict(train_data=(np.zeros((5, 2), np.float32), np.zeros(4, np.int64))), "5 rows and the targets 4"),
    (dict(val_data=None, metrics=["accuracy"]), "pass val_data"),
    (dict(epochs=0), "epochs must be a positive integer"),
    (dict(train_data=[np.zeros(2)]), "tuple \\(inputs..., target\\)"),
    (dict(loss_fn=lambda out, y: F.cross_entropy(out, y, reduction="none")), "scalar Tensor"),
])
def test_bad_arguments_are_clear_errors(kwargs, message):
    model = mlp()
    arguments = dict(train_data=TRAIN, loss_fn=F.cross_entropy, optimizer=SGD(model.parameters(), lr=0.1),
                     epochs=1, batch_size=8, val_data=VAL, progress=False, **{})
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        fit(model, arguments.pop("train_data"), **arguments)


def test_a_non_finite_loss_stops_with_a_clear_error():
    model = mlp()
    x = TRAIN[0].copy()
    x[5] = np.nan
    with pytest.raises(FloatingPointError, match="loss is nan at step 1 \\(epoch 1/3\\)"):
        fit(model, (x, TRAIN[1]), loss_fn=F.cross_entropy, optimizer=SGD(model.parameters(), lr=0.1), epochs=3,
            batch_size=len(x), progress=False)


def test_a_checkpoint_dir_another_trainer_holds_is_refused(tmp_path):
    from minilm.errors import RunLocked
    from minilm.train.lock import RunLock
    with RunLock(tmp_path / "run"):                 # another trainer (flock: per open file, so this works in-process)
        with pytest.raises(RunLocked, match="is being trained by process"):
            fit(mlp(), TRAIN, loss_fn=F.cross_entropy, optimizer=SGD(mlp().parameters(), lr=0.1), epochs=1,
                batch_size=50, checkpoint_dir=tmp_path / "run", progress=False)
    assert not os.path.exists(tmp_path / "run" / "checkpoint.json")
    fit(mlp(), TRAIN, loss_fn=F.cross_entropy, optimizer=SGD(mlp().parameters(), lr=0.1), epochs=1,
        batch_size=50, checkpoint_dir=tmp_path / "run", progress=False)     # free again: trains
    assert os.path.exists(tmp_path / "run" / "checkpoint.json")
