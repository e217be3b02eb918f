"""A trained model, ready to use: from a run folder or from a Hugging Face folder.

    model, tokenizer, cfg, state = load_trained("out")                 the run's best checkpoint
    model, tokenizer, device = load_pretrained("gpt2-folder", "cpu")   a GPT-2 or Llama folder

`minilm sample`, `eval`, `export` and `viz` load their model with these.
"""
from ..backend import require_device
from ..models import GPT
from ..tokenizers import BPETokenizer, tokenizer_from_dict
from .checkpoint import checkpoint_folder, load_model_weights, load_state
from .config import TrainConfig
from .setup import build_model, check_tokenizer_fits


def load_trained(out_dir, which="best", device=None):
    """(model, tokenizer, config, state) from a training output folder; which: "best" or "latest"."""
    if device:
        require_device(device)
    folder = checkpoint_folder(out_dir, which)
    state = load_state(folder)
    cfg = TrainConfig.from_dict(state["config"])
    if device:
        cfg.device = device
    tokenizer = tokenizer_from_dict(state["tokenizer"])
    model = build_model(cfg, tokenizer.vocab_size)
    load_model_weights(folder, model)
    return model.to(cfg.device), tokenizer, cfg, state


def load_pretrained(folder, device):
    """(model, tokenizer, device) of a Hugging Face folder of a GPT-2 or Llama model."""
    require_device(device)
    model, tokenizer = GPT.from_pretrained(folder), BPETokenizer.from_pretrained(folder)
    check_tokenizer_fits(folder, model, tokenizer)
    return model.to(device), tokenizer, device
