"""Learning-rate schedules: how lr changes over the steps of training.

`cosine_with_warmup` is the schedule GPT-style models train with:
    warmup   lr rises linearly from ~0 to the peak over the first steps, while
             Adam's moment estimates are still noisy;
    decay    it then follows half a cosine down to min_lr at decay_steps;
    after    it stays at min_lr.

`trapezoid` (warmup-stable-decay; Hägele et al., 2024, and the modded-nanogpt
speedruns) holds the peak instead, and decays along a straight line at the end:
    warmup   as above;
    stable   lr stays at the peak until the last cooldown_frac of decay_steps;
    cooldown it falls linearly to min_lr at decay_steps, then stays there.
Most of the run trains at the peak lr, and the cooldown at the end harvests
the loss that the high lr's noise was hiding.
"""
import math


def cosine_with_warmup(step, max_lr, warmup_steps, decay_steps, min_lr=0.0):
    if step < warmup_steps:
        return max_lr * (step + 1) / (warmup_steps + 1)
    if step >= decay_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, decay_steps - warmup_steps)
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (max_lr - min_lr)


def trapezoid(step, max_lr, warmup_steps, decay_steps, min_lr=0.0, cooldown_frac=0.5):
    if step < warmup_steps:
        return max_lr * (step + 1) / (warmup_steps + 1)
    if step >= decay_steps:
        return min_lr
    cooldown_start = max(warmup_steps, decay_steps * (1 - cooldown_frac))
    if step < cooldown_start:
        return max_lr
    progress = (step - cooldown_start) / max(1, decay_steps - cooldown_start)
    return max_lr + progress * (min_lr - max_lr)


LR_SCHEDULES = {"cosine": cosine_with_warmup, "trapezoid": trapezoid}


def step_decay(step, base_lr, step_size, gamma=0.1):
    return base_lr * gamma ** (step // step_size)


class LRScheduler:
    """Sets each group's lr from a function of the step count; call step() after optimizer.step()."""

    def __init__(self, optimizer, lr_at):
        self.optimizer, self.lr_at = optimizer, lr_at
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.last_step = 0
        self._apply()

    def _apply(self):
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(self.last_step, base)

    def step(self):
        self.last_step += 1
        self._apply()

    def get_last_lr(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        return {"last_step": self.last_step, "base_lrs": self.base_lrs}

    def load_state_dict(self, state):
        self.last_step, self.base_lrs = state["last_step"], list(state["base_lrs"])
        self._apply()


class CosineWarmupLR(LRScheduler):
    def __init__(self, optimizer, warmup_steps, decay_steps, min_lr=0.0):
        super().__init__(optimizer, lambda step, base: cosine_with_warmup(
            step, base, warmup_steps, decay_steps, min_lr))


class StepLR(LRScheduler):
    def __init__(self, optimizer, step_size, gamma=0.1):
        super().__init__(optimizer, lambda step, base: step_decay(step, base, step_size, gamma))
