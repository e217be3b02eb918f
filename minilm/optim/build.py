"""The optimizer of a model by name, with weight decay on its matrices only (as GPT-2 and nanoGPT train).

    optimizer = build_optimizer(model.parameters(), "adamw", lr=1e-3, weight_decay=0.1, betas=(0.9, 0.99))

Weight decay pulls the matrices and embeddings (>= 2-D) towards zero; biases
and norm gains (1-D) are left alone: decaying a gain towards 0 would only
fight the normalisation. `GPT.configure_optimizers` and `minilm train`
(--optimizer) both build theirs here.
"""
from .adam import Adam, AdamW
from .rmsprop import RMSprop
from .sgd import SGD

OPTIMIZERS = {"adamw": AdamW, "adam": Adam, "sgd": SGD, "rmsprop": RMSprop}


def decay_groups(parameters, weight_decay):
    """Two parameter groups: >= 2-D parameters with weight_decay, the others with none."""
    params = list(parameters)
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]


def build_optimizer(parameters, name="adamw", lr=1e-3, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8,
                    momentum=0.0, alpha=0.99):
    """OPTIMIZERS[name] over decay_groups(parameters, weight_decay); betas and eps: Adam's, momentum: SGD's and
    RMSprop's, alpha: RMSprop's decay of its running mean of g^2."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}, got {name!r}")
    groups = decay_groups(parameters, weight_decay)
    if name == "sgd":
        return SGD(groups, lr=lr, momentum=momentum)
    if name == "rmsprop":
        return RMSprop(groups, lr=lr, alpha=alpha, momentum=momentum)
    return OPTIMIZERS[name](groups, lr=lr, betas=betas, eps=eps)
