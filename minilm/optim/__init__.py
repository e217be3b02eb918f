"""minilm.optim: optimizers, gradient clipping and learning-rate schedules."""
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .build import OPTIMIZERS, build_optimizer, decay_groups, describe_split, muon_groups
from .clip import clip_grad_norm_
from .lr_scheduler import LR_SCHEDULES, CosineWarmupLR, LRScheduler, StepLR, cosine_with_warmup, step_decay, trapezoid
from .muon import Muon, newton_schulz
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adam", "AdamW", "Muon", "newton_schulz", "clip_grad_norm_",
           "OPTIMIZERS", "build_optimizer", "decay_groups", "muon_groups", "describe_split", "LRScheduler",
           "CosineWarmupLR", "StepLR", "cosine_with_warmup", "trapezoid", "LR_SCHEDULES", "step_decay"]
