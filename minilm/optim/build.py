"""The optimizer of a model by name, with weight decay on its matrices only (as GPT-2 and nanoGPT train).

    optimizer = build_optimizer(model.parameters(), "adamw", lr=1e-3, weight_decay=0.1, betas=(0.9, 0.99))

Weight decay pulls the matrices and embeddings (>= 2-D) towards zero; biases
and norm gains (1-D) are left alone: decaying a gain towards 0 would only
fight the normalisation. `GPT.configure_optimizers` and `minilm train`
(--optimizer) both build theirs here.

    optimizer = build_optimizer(model, "muon", lr=1e-3, weight_decay=0.1, muon_lr=0.02)

Muon (muon.py) takes the model rather than its parameters: it steps the hidden
matrices, and tells them from the embeddings (Embedding modules) and the output
head (a top-level module named in OUTPUT_LAYERS), which AdamW steps with the
norms and biases.
"""
from ..nn.embedding import Embedding
from .adam import Adam, AdamW
from .muon import Muon
from .rmsprop import RMSprop
from .sgd import SGD

OPTIMIZERS = {"adamw": AdamW, "adam": Adam, "sgd": SGD, "rmsprop": RMSprop, "muon": Muon}
OUTPUT_LAYERS = ("lm_head", "head")        # GPT's and the recurrent LM's output layers


def decay_groups(parameters, weight_decay):
    """Two parameter groups: >= 2-D parameters with weight_decay, the others with none."""
    params = list(parameters)
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]


def muon_groups(model, weight_decay, lr, muon_lr, muon_weight_decay=0.0):
    """[the hidden matrices (Muon, muon_lr)] + decay_groups of the other parameters (AdamW, lr)."""
    outside = {id(m.weight) for m in model.modules() if isinstance(m, Embedding)}
    outside |= {id(p) for name, p in model.named_parameters() if name.split(".")[0] in OUTPUT_LAYERS}
    hidden = [p for p in model.parameters() if p.ndim == 2 and id(p) not in outside]
    rest = [p for p in model.parameters() if p.ndim != 2 or id(p) in outside]
    adamw = [{**group, "lr": lr, "use_muon": False} for group in decay_groups(rest, weight_decay) if group["params"]]
    return [{"params": hidden, "lr": muon_lr, "weight_decay": muon_weight_decay}, *adamw]


def describe_split(optimizer):
    """One line: how many tensors and weights each rule steps (Muon's split, or any optimizer's groups)."""
    count = {True: [0, 0], False: [0, 0]}
    for group in optimizer.param_groups:
        for p in group["params"]:
            count[group.get("use_muon", False)][0] += 1
            count[group.get("use_muon", False)][1] += p.numel()
    (muon_n, muon_size), (adam_n, adam_size) = count[True], count[False]
    return (f"muon: {muon_n} hidden matrices ({muon_size:,} weights); adamw: {adam_n} tensors "
            f"(embeddings, head, norms, biases; {adam_size:,} weights)")


def build_optimizer(parameters, name="adamw", lr=1e-3, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8,
                    momentum=0.0, alpha=0.99, muon_lr=0.02, muon_momentum=0.95, muon_weight_decay=0.0):
    """OPTIMIZERS[name] over decay_groups(parameters, weight_decay); betas and eps: Adam's, momentum: SGD's and
    RMSprop's, alpha: RMSprop's decay of its running mean of g^2. parameters may be the model itself; for
    "muon" it must be: muon_lr, muon_momentum and muon_weight_decay are Muon's, lr the AdamW groups'."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}, got {name!r}")
    if name == "muon":
        if not hasattr(parameters, "named_parameters"):
            raise TypeError("build_optimizer(model, 'muon') needs the model, not its parameters: it tells the "
                            "hidden matrices from the embeddings and the head by the modules that hold them")
        groups = muon_groups(parameters, weight_decay, lr, muon_lr, muon_weight_decay)
        return Muon(groups, lr=muon_lr, momentum=muon_momentum, betas=betas, eps=eps)
    groups = decay_groups(parameters.parameters() if hasattr(parameters, "parameters") else parameters,
                          weight_decay)
    if name == "sgd":
        return SGD(groups, lr=lr, momentum=momentum)
    if name == "rmsprop":
        return RMSprop(groups, lr=lr, alpha=alpha, momentum=momentum)
    return OPTIMIZERS[name](groups, lr=lr, betas=betas, eps=eps)
