"""Training curves from a run's log: the losses, the learning rate, the gradient norm, tokens/s.

out_dir/log.jsonl has one JSON record per line: after every step
{"step", "loss", "lr", "grad_norm", "tokens_per_s"}, after every evaluation
{"step", "train_loss", "val_loss", ...}; a non-finite value is null (older logs: Infinity),
drawn as a gap. What healthy curves look like: the losses fall and
val stays near train (far above it: overfitting); the learning rate warms up, then decays;
the gradient norm settles after the first steps (spikes that grow: lower the learning rate);
tokens/s is flat (dips: the machine was busy, or an evaluation ran). An RL run's log
(minilm rl) has the reward, accuracy and KL of each step instead: plot_rl draws those.
"""
import numpy as np

from ..train.run_log import read_log
from .figures import new_figure, save_figure


def plot_training(log_path, path=None):
    """Four panels from a run's log: losses, learning rate, gradient norm, tokens/s (an RL run's: plot_rl).
    Returns the Figure."""
    records = read_log(log_path)
    if any("reward" in r for r in records):
        return plot_rl(records, path)
    steps = [r for r in records if "loss" in r]
    evals = [r for r in records if "val_loss" in r]
    figure = new_figure(11, 7.5)
    (losses, lr), (norm, speed) = figure.subplots(2, 2, sharex=True)
    _overlay(losses, "loss", "cross-entropy loss", [(steps, "loss", "-", "train (batch)"),
                                                    (evals, "train_loss", "o-", "train (eval)"),
                                                    (evals, "val_loss", "o-", "val")])
    _panel(lr, steps, "lr", "learning rate")
    _panel(norm, steps, "grad_norm", "gradient norm (before clipping)")
    _panel(speed, steps, "tokens_per_s", "tokens / s", smooth=True)
    return _finished(figure, (norm, speed), path)


def plot_rl(records, path=None):
    """An RL run (minilm rl): reward and accuracy of the sampled replies, val accuracy, KL, loss, tokens/s.

    Healthy: the reward rises, the greedy val accuracy with it; the KL to the starting model
    grows slowly (a jump: the policy is collapsing, lower the learning rate or raise --kl-coef).
    """
    steps = [r for r in records if "reward" in r]
    evals = [r for r in records if "val_accuracy" in r]
    figure = new_figure(11, 7.5)
    (reward, accuracy), (kl, speed) = figure.subplots(2, 2, sharex=True)
    _panel(reward, steps, "reward", "mean reward of the sampled replies", smooth=True)
    _overlay(accuracy, "exact-match accuracy", "accuracy", [(steps, "accuracy", "-", "sampled replies (train prompts)"),
                                                            (evals, "val_accuracy", "o-", "greedy, val items")])
    accuracy.set_ylim(-0.02, 1.02)
    _panel(kl, steps, "kl", "KL to the starting model (per token)", smooth=True)
    _panel(speed, steps, "tokens_per_s", "sampled tokens / s", smooth=True)
    return _finished(figure, (kl, speed), path)


def _finished(figure, bottom_row, path):
    """The figure with "step" under its bottom panels, saved to path (unless None)."""
    for ax in bottom_row:
        ax.set_xlabel("step")
    if path is not None:
        save_figure(figure, path)
    return figure


def _overlay(ax, title, ylabel, lines):
    """Several series on one panel: lines = [(records, key, "-" per step (faint) or "o-" per evaluation, label)]."""
    for records, key, style, label in lines:
        ax.plot(*_series(records, key), style, alpha=0.35 if style == "-" else 1.0, label=label)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend()


def _series(records, key):
    chosen = [r for r in records if key in r]
    return [r["step"] for r in chosen], [r[key] for r in chosen]


def _panel(ax, records, key, title, smooth=False):
    x, y = _series(records, key)
    ax.set_title(title)
    ax.set_ylabel(title)
    if not x:
        ax.text(0.5, 0.5, f"no '{key}' in this log", ha="center", va="center", transform=ax.transAxes)
        return
    ax.plot(x, y, alpha=0.35 if smooth else 1.0)
    if smooth and len(y) >= 10:                                # the mean of the last few steps, without the noise
        width = max(5, len(y) // 50)
        ax.plot(x[width - 1:], np.convolve(y, np.ones(width) / width, mode="valid"), label=f"mean of {width} steps")
        ax.legend()
