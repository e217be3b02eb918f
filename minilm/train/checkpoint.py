"""Checkpoints: everything needed to continue training exactly where it stopped.

    out/checkpoints/step-000500/model.safetensors       model weights
    out/checkpoints/step-000500/optimizer.safetensors   Adam moments etc., by parameter index
    out/checkpoints/step-000500/state.json              config, step, RNG states, data position, metrics
    out/checkpoints/step-000500/carry.safetensors       a recurrent model's hidden state (LSTM only)
    out/checkpoint.json                                 {"latest": ..., "best": ...}

A checkpoint folder is written completely before `checkpoint.json` is
replaced (atomically, by rename) to point at it, and only then are folders
no longer pointed at deleted. A process killed at any moment therefore
leaves checkpoint.json naming a complete, loadable checkpoint.
"""
import json
import os
import shutil

from ..errors import WriteFailed
from ..serialization import load, save, save_json
from ..tensor import Tensor

POINTER = "checkpoint.json"


def _flatten_optimizer(state_dict):
    """Optimizer state_dict -> (arrays for safetensors, the rest as JSON)."""
    arrays, scalars = {}, {}
    for index, state in state_dict["state"].items():
        for name, value in state.items():
            if hasattr(value, "shape") and value.shape != ():
                arrays[f"{index}.{name}"] = value
            else:
                scalars[f"{index}.{name}"] = value.item() if hasattr(value, "item") else value
    return arrays, {"scalars": scalars, "param_groups": state_dict["param_groups"]}


def _unflatten_optimizer(arrays, meta):
    state = {}
    for key, value in list(arrays.items()) + list(meta["scalars"].items()):
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    # JSON turned the options' tuples (Adam's betas) into lists
    groups = [{k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
              for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_checkpoint(out_dir, step, model, optimizer, state, best=False, hidden_state=None):
    """Write a complete checkpoint folder, then point checkpoint.json at it.

    `hidden_state` is what a recurrent model carries into its next window
    (a tuple of Tensors): without it a resumed LSTM would start from zeros.
    """
    name = f"checkpoints/step-{step:06d}"
    folder = os.path.join(out_dir, name)
    pointer = read_pointer(out_dir) or {}
    existed = os.path.isdir(folder)
    try:
        os.makedirs(folder, exist_ok=True)
        save(model.state_dict(), os.path.join(folder, "model.safetensors"))
        arrays, optimizer_meta = _flatten_optimizer(optimizer.state_dict())
        optimizer_meta["type"] = type(optimizer).__name__
        save(arrays, os.path.join(folder, "optimizer.safetensors"))
        if hidden_state is not None:
            save({str(i): t for i, t in enumerate(hidden_state)}, os.path.join(folder, "carry.safetensors"))
        save_json({**state, "step": step, "optimizer": optimizer_meta}, os.path.join(folder, "state.json"))
        _pause_for_tests()
        save_json({**pointer, "latest": name, "best": name if best or "best" not in pointer else pointer["best"]},
                  os.path.join(out_dir, POINTER))
    except OSError as error:
        # checkpoint.json was not replaced: it still names the previous, complete checkpoint
        if not existed:
            shutil.rmtree(folder, ignore_errors=True)
        kept = (f"the partial checkpoint was removed; {POINTER} still names {pointer['latest']}"
                if pointer else "no checkpoint was kept")
        raise WriteFailed(error, kept) from None
    _remove_unreferenced(out_dir, read_pointer(out_dir))
    return folder


def _pause_for_tests():
    """Tests kill the process here to prove a half-written checkpoint cannot hurt."""
    delay = os.environ.get("MINILM_TEST_SAVE_DELAY")
    if delay:
        import time
        time.sleep(float(delay))


def _remove_unreferenced(out_dir, pointer):
    root = os.path.join(out_dir, "checkpoints")
    keep = {os.path.basename(p) for p in pointer.values()}
    for entry in os.listdir(root):
        if entry not in keep:
            shutil.rmtree(os.path.join(root, entry), ignore_errors=True)


def read_pointer(out_dir):
    path = os.path.join(out_dir, POINTER)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            pointer = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is corrupt ({e}); it should name the latest and best checkpoint "
                         f"folders, e.g. {{\"latest\": \"checkpoints/step-000500\", ...}}") from None
    return pointer


def checkpoint_folder(out_dir, which="latest"):
    pointer = read_pointer(out_dir)
    if pointer is None or which not in pointer:
        raise FileNotFoundError(f"no checkpoint in {out_dir!r} (expected {POINTER} there); "
                                "train first with `minilm train --out_dir ...`")
    folder = os.path.join(out_dir, pointer[which])
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{POINTER} in {out_dir!r} names {pointer[which]!r} as the {which} "
                                "checkpoint, but that folder is missing")
    return folder


def load_state(folder):
    path = os.path.join(folder, "state.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"checkpoint state {path} is missing or corrupt: {e}") from None


def saved_config(out_dir, which="latest"):
    """The TrainConfig a checkpoint was trained with."""
    from .config import TrainConfig
    return TrainConfig.from_dict(load_state(checkpoint_folder(out_dir, which))["config"])


def load_model_weights(folder, model):
    """Load weights into model; a model of another shape gets an error naming the keys."""
    path = os.path.join(folder, "model.safetensors")
    try:
        model.load_state_dict(load(path))
    except ValueError as e:
        raise ValueError(f"checkpoint {folder} does not fit this model: {e}") from None


def load_optimizer_state(folder, optimizer, state):
    saved_type = state["optimizer"].get("type", "AdamW")            # (older checkpoints: always AdamW)
    if saved_type != type(optimizer).__name__:
        raise ValueError(f"checkpoint {folder} holds the state of {saved_type}, not of {type(optimizer).__name__}; "
                         f"resume with the optimizer it was trained with")
    arrays = load(os.path.join(folder, "optimizer.safetensors"))
    optimizer.load_state_dict(_unflatten_optimizer(arrays, state["optimizer"]))


def load_weights_and_optimizer(folder, model, optimizer, state):
    """Resume: the model's weights and the optimizer's state (moments, step counts) of a checkpoint."""
    load_model_weights(folder, model)
    load_optimizer_state(folder, optimizer, state)


def load_hidden_state(folder, device="cpu"):
    """The recurrent state saved with the checkpoint, or None if it had none."""
    path = os.path.join(folder, "carry.safetensors")
    if not os.path.exists(path):
        return None
    arrays = load(path)
    return tuple(Tensor(arrays[str(i)], device=device) for i in range(len(arrays)))


def rng_state(generator):
    return generator.bit_generator.state


def restore_rng(generator, state):
    generator.bit_generator.state = state
    return generator
