"""A trained model, ready to use: from a run folder or from a Hugging Face folder.

    model, tokenizer, cfg, state = load_trained("out")                 the run's best checkpoint
    model, tokenizer, device = load_pretrained("gpt2-folder", "cpu")   a GPT-2, Llama or Qwen3 folder

`minilm sample`, `eval`, `export` and `viz` load their model with these; describe_run
names it in a picture's title.
"""
from ..backend import require_device
from ..models import GPT
from ..tokenizers import BPETokenizer, tokenizer_from_dict
from .checkpoint import checkpoint_folder, load_model_weights, load_state
from .config import ARCHITECTURE, PRESETS, TrainConfig
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
    """(model, tokenizer, device) of a Hugging Face folder of a GPT-2, Llama or Qwen3 model."""
    require_device(device)
    model, tokenizer = GPT.from_pretrained(folder), BPETokenizer.from_pretrained(folder)
    check_tokenizer_fits(folder, model, tokenizer)
    return model.to(device), tokenizer, device


def preset_of(cfg):
    """The preset whose model and tokenizer cfg has (e.g. "shakespeare-char"), or None."""
    shape = lambda c: [getattr(c, key) for key in (*ARCHITECTURE, "tokenizer", "bpe_vocab_size")]  # noqa: E731
    return next((name for name, values in PRESETS.items() if shape(TrainConfig(**values)) == shape(cfg)), None)


def describe_run(model, cfg, state):
    """What a trained run is, for a title: 'GPT shakespeare-char (4 layers x 128, 0.81M parameters, step 2000)'."""
    kind = (cfg.cell if cfg.model == "lstm" else cfg.model).upper()
    size = (f"{cfg.lstm_layers} layers x {cfg.lstm_hidden}" if cfg.model == "lstm"
            else f"{cfg.n_layer} layers x {cfg.n_embd}")
    preset = preset_of(cfg)
    return (f"{kind}{' ' + preset if preset else ''} ({size}, {model.num_parameters() / 1e6:.2f}M parameters, "
            f"step {state['step']})")
