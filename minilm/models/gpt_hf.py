"""GPT <-> Hugging Face folders of GPT-2 (GPT2LMHeadModel), Llama (LlamaForCausalLM) and Qwen3 models.

The folder I/O (config.json, safetensors, bfloat16) is minilm/hf.py; this file
is only the two translations a model family needs:

  * config.json -> GPTConfig, refusing any field that would change the math
    and that minilm does not implement (rope scaling, sliding windows, cross
    attention, biases on only some projections, ...): loading such a model
    anyway would give wrong logits without a word;
  * weight names and layouts -> minilm's (nanoGPT's names):

    GPT-2                                   minilm
    transformer.h.i.attn.c_attn (in, out)   transformer.h.i.attn.c_attn (out, in): Conv1D, transposed
    transformer.h.i.mlp.c_fc, c_proj        the same, transposed; wte, wpe, ln_* unchanged

    Llama                                   minilm
    model.embed_tokens                      transformer.wte
    model.layers.i.self_attn.q/k/v_proj     transformer.h.i.attn.c_attn (rows q, then k, then v)
    model.layers.i.self_attn.o_proj         transformer.h.i.attn.c_proj
    model.layers.i.mlp.gate_proj, up_proj   transformer.h.i.mlp.c_fc (rows gate, then up)
    model.layers.i.mlp.down_proj            transformer.h.i.mlp.c_proj
    model.layers.i.input_layernorm          transformer.h.i.ln_1 (post_attention_layernorm: ln_2)
    model.norm, lm_head                     transformer.ln_f, lm_head

    Qwen3 (Qwen3ForCausalLM) is Llama without biases plus QK-norm: q_norm and k_norm, an RMSNorm
    of each head's q and k before rotary, with eps = rms_norm_eps, as minilm's qk_norm computes
    (minilm's has no gain: they are written as ones, and read only when they are all ones).

Rotary embeddings use the same rotate-half layout as the Hugging Face code, so
q_proj and k_proj load without permuting rows. save_pretrained writes the same
tables backwards, so `transformers.AutoModelForCausalLM.from_pretrained(folder)`
loads the model and computes the same logits.
"""
import dataclasses

import numpy as np

from ..hf import load_safetensors_weights, read_config, weight_files, write_folder
from .gpt_config import GPTConfig

GPT2_ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu"}
LLAMA_TYPES = ("llama", "mistral")          # Mistral is Llama's layout (without a sliding window)
QK_NORMS = ("self_attn.q_norm", "self_attn.k_norm")    # Qwen3's, per layer
CONV1D = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")


def read_pretrained(folder):
    """(GPTConfig, state_dict) of a Hugging Face GPT-2 or Llama folder; GPT.from_pretrained builds the model."""
    hf = read_config(folder)
    weight_files(folder)                                                 # a pickle-only folder is refused first
    model_type = hf.get("model_type")
    if model_type == "gpt2":
        config, from_hf = gpt2_config(hf), gpt2_state
    elif model_type in LLAMA_TYPES:
        config, from_hf = llama_config(hf), llama_state
    elif model_type == "qwen3":
        config, from_hf = qwen3_config(hf), qwen3_state
    else:
        raise ValueError(f"{folder}/config.json is a {model_type!r} model; GPT.from_pretrained reads "
                         f"'gpt2', 'qwen3' and Llama-layout models ({', '.join(map(repr, LLAMA_TYPES))})")
    weights = load_safetensors_weights(folder)
    state = from_hf(weights, config)
    if config.tie_embeddings:
        state["lm_head.weight"] = state["transformer.wte.weight"]
        if "lm_head.weight" in weights:                                 # some tied checkpoints store it too
            if not np.array_equal(weights["lm_head.weight"], state["lm_head.weight"]):
                raise ValueError(f"{folder}/config.json ties the embeddings, but lm_head.weight differs from "
                                 "the embedding matrix: set tie_word_embeddings to false if it is its own")
            state["_used"].append("lm_head.weight")
    unused = sorted(set(weights) - set(state.pop("_used")))
    if unused:
        raise ValueError(f"{folder} has weights that this configuration has no place for: "
                         f"{', '.join(unused[:4])}{' ...' if len(unused) > 4 else ''}; minilm's "
                         f"{model_type} layout does not include them, so the model cannot be loaded exactly")
    return config, state


def save_pretrained(model, folder, overwrite=False):
    c = model.config
    llama_blocks = c.norm == "rmsnorm" and c.pos == "rope" and c.mlp == "swiglu"
    beyond = [text for text, present in (("qk_norm on GPT-2 blocks (Qwen3's has Llama's: norm='rmsnorm', "
                                          "pos='rope', mlp='swiglu')", c.qk_norm and not llama_blocks),
                                         ("value_residual", c.value_residual),
                                         (f"logit_softcap {c.logit_softcap:g}", c.logit_softcap),
                                         ("mlp 'relu2'", c.mlp == "relu2")) if present]
    if beyond:                       # (zero_init_proj only sets the starting weights: it exports like any other)
        raise ValueError(f"save_pretrained writes GPT-2, Llama or Qwen3 folders, and transformers' models have "
                         f"no {', '.join(beyond)}: they would compute other logits; keep this run in minilm's "
                         f"format (minilm sample / eval --out), or train without these options to export")
    state = {k: np.asarray(v.get() if hasattr(v, "get") else v) for k, v in model.state_dict().items()}
    if c.norm == "layernorm" and c.pos == "learned" and c.mlp != "swiglu" and c.n_kv_head == c.n_head:
        hf, weights = gpt2_hf_config(c), gpt2_weights(state, c)
    elif llama_blocks and c.qk_norm:
        hf, weights = qwen3_hf_config(c), qwen3_weights(state, c)
    elif llama_blocks:
        hf, weights = llama_hf_config(c), llama_weights(state, c)
    else:
        raise ValueError(f"save_pretrained writes GPT-2 (norm='layernorm', pos='learned', mlp='gelu' or "
                         f"'gelu_tanh', n_kv_head = n_head) or Llama (norm='rmsnorm', pos='rope', mlp='swiglu') "
                         f"models; this one has norm={c.norm!r}, pos={c.pos!r}, mlp={c.mlp!r}, n_kv_head="
                         f"{c.n_kv_head}, a mix that transformers has no architecture for")
    write_folder(folder, hf, weights, overwrite)


def _refuse(condition, what, why):
    if condition:
        raise ValueError(f"config.json has {what}: {why}; minilm does not implement it, and loading "
                         "the weights without it would compute different logits")


def _required(hf, key):
    if key not in hf:
        raise ValueError(f"config.json of this {hf.get('model_type')!r} model has no {key!r}, which its "
                         "architecture needs; the file is incomplete or from another library")
    return hf[key]


def _take(weights, used, name):
    if name not in weights:
        raise ValueError(f"the weights have no {name!r}, which config.json implies; the folder may "
                         "be incomplete or of another architecture")
    used.append(name)
    return weights[name]


# ---------------------------------------------------------------- GPT-2
def gpt2_config(hf):
    _refuse(hf.get("add_cross_attention"), "add_cross_attention", "an encoder-decoder GPT-2")
    _refuse(not hf.get("scale_attn_weights", True), "scale_attn_weights false", "unscaled attention scores")
    _refuse(hf.get("scale_attn_by_inverse_layer_idx"), "scale_attn_by_inverse_layer_idx",
            "scores divided by the layer index")
    activation = hf.get("activation_function", "gelu_new")
    _refuse(activation not in GPT2_ACTIVATIONS, f"activation_function {activation!r}",
            f"minilm's GPT-2 MLP has {', '.join(GPT2_ACTIVATIONS)}")
    n_embd = _required(hf, "n_embd")
    return GPTConfig(vocab_size=_required(hf, "vocab_size"), block_size=_required(hf, "n_positions"),
                     n_layer=_required(hf, "n_layer"), n_head=_required(hf, "n_head"), n_embd=n_embd,
                     bias=True, mlp=GPT2_ACTIVATIONS[activation],
                     intermediate_size=hf.get("n_inner") or 4 * n_embd,
                     norm_eps=hf.get("layer_norm_epsilon", 1e-5),
                     tie_embeddings=hf.get("tie_word_embeddings", True))


def gpt2_state(weights, config):
    # Checkpoints saved from GPT2Model (the hub's "gpt2" among them) lack the "transformer." prefix;
    # old ones also hold each layer's causal mask as attn.bias / attn.masked_bias: a buffer, not a weight.
    masks = [n for n in weights if n.endswith((".attn.bias", ".attn.masked_bias"))]
    by_our_name = {n if n.startswith(("transformer.", "lm_head.")) else "transformer." + n: n
                   for n in weights if n not in masks}
    state, used = {}, masks
    for ours in _gpt_names(config):
        if ours == "lm_head.weight" and config.tie_embeddings:
            continue
        array = _take(weights, used, by_our_name.get(ours, ours))
        state[ours] = array.T if _is_conv1d(ours) else array
    state["_used"] = used
    return state


def _is_conv1d(name):
    """GPT-2's Conv1D stores its weight (in, out), the transpose of a Linear's."""
    return name.endswith(".weight") and name.rsplit(".", 1)[0].endswith(CONV1D)


def gpt2_hf_config(c):
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": c.vocab_size,
            "n_positions": c.block_size, "n_embd": c.n_embd, "n_layer": c.n_layer, "n_head": c.n_head,
            "n_inner": c.intermediate_size, "layer_norm_epsilon": c.norm_eps,
            "activation_function": "gelu_new" if c.mlp == "gelu_tanh" else "gelu",
            "tie_word_embeddings": c.tie_embeddings, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
            "scale_attn_weights": True, "dtype": "float32"}


def gpt2_weights(state, c):
    """GPT-2's names are minilm's; the Conv1D weights go back to (in, out). GPT-2 always has
    biases: a model trained without them gets zeros, which compute the same."""
    out = {}
    for name in _gpt_names(GPTConfig(**{**c.to_dict(), "bias": True})):
        if name == "lm_head.weight" and c.tie_embeddings:
            continue                                                     # transformers re-ties it
        array = state.get(name)
        if array is None:                                                # a bias the model does not have
            array = np.zeros(state[name.rsplit(".", 1)[0] + ".weight"].shape[0], np.float32)
        out[name] = array.T if _is_conv1d(name) else array
    return out


def _gpt_names(config):
    """The state_dict names a GPT of this config has (without building its weights)."""
    names = ["transformer.wte.weight", "transformer.wpe.weight"]
    for i in range(config.n_layer):
        h = f"transformer.h.{i}."
        for module in ("ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj"):
            names.append(h + module + ".weight")
            if config.bias:
                names.append(h + module + ".bias")
    names += ["transformer.ln_f.weight"] + (["transformer.ln_f.bias"] if config.bias else []) + ["lm_head.weight"]
    return names


# ---------------------------------------------------------------- Llama
def llama_config(hf):
    # transformers 4.x writes rope_theta and rope_scaling, 5.x rope_parameters: check each
    for rope in (hf.get("rope_scaling") or {}, hf.get("rope_parameters") or {}):
        rope_type = rope.get("rope_type", rope.get("type", "default"))
        _refuse(rope_type != "default", f"rope type {rope_type!r}", "rescaled rotary frequencies")
    sliding = hf.get("sliding_window") if hf.get("use_sliding_window", True) else None
    _refuse(sliding is not None, f"sliding_window {sliding}", "attention limited to a window of keys")
    _refuse(hf.get("hidden_act", "silu") != "silu", f"hidden_act {hf.get('hidden_act')!r}",
            "minilm's SwiGLU gates with silu")
    attention_bias, mlp_bias = hf.get("attention_bias", False), hf.get("mlp_bias", False)
    _refuse(attention_bias != mlp_bias, f"attention_bias {attention_bias} with mlp_bias {mlp_bias}",
            "minilm's bias option puts biases on every projection or on none")
    n_embd, n_head = _required(hf, "hidden_size"), _required(hf, "num_attention_heads")
    head_dim = hf.get("head_dim") or n_embd // n_head
    _refuse(head_dim * n_head != n_embd, f"head_dim {head_dim} with {n_head} heads of hidden_size {n_embd}",
            "minilm's head size is hidden_size / num_attention_heads")
    theta = hf.get("rope_theta", (hf.get("rope_parameters") or {}).get("rope_theta", 10000.0))
    return GPTConfig(vocab_size=_required(hf, "vocab_size"), block_size=_required(hf, "max_position_embeddings"),
                     n_layer=_required(hf, "num_hidden_layers"), n_head=n_head, n_embd=n_embd,
                     n_kv_head=hf.get("num_key_value_heads") or n_head, bias=bool(attention_bias),
                     norm="rmsnorm", pos="rope", mlp="swiglu", rope_theta=float(theta),
                     intermediate_size=_required(hf, "intermediate_size"),
                     norm_eps=hf.get("rms_norm_eps", 1e-6),
                     tie_embeddings=hf.get("tie_word_embeddings", False))


def _llama_layer(i):
    """(minilm module, the Llama modules stacked into it by rows) for layer i."""
    m = f"model.layers.{i}."
    return [(f"transformer.h.{i}.ln_1", [m + "input_layernorm"]),
            (f"transformer.h.{i}.attn.c_attn", [m + "self_attn.q_proj", m + "self_attn.k_proj", m + "self_attn.v_proj"]),
            (f"transformer.h.{i}.attn.c_proj", [m + "self_attn.o_proj"]),
            (f"transformer.h.{i}.ln_2", [m + "post_attention_layernorm"]),
            (f"transformer.h.{i}.mlp.c_fc", [m + "mlp.gate_proj", m + "mlp.up_proj"]),
            (f"transformer.h.{i}.mlp.c_proj", [m + "mlp.down_proj"])]


def _llama_table(config):
    table = [("transformer.wte", ["model.embed_tokens"])]
    for i in range(config.n_layer):
        table += _llama_layer(i)
    table.append(("transformer.ln_f", ["model.norm"]))
    if not config.tie_embeddings:
        table.append(("lm_head", ["lm_head"]))
    return table


def _has_bias(ours, config):
    return config.bias and (".attn." in ours or ".mlp." in ours)


def llama_state(weights, config):
    # rotary_emb.inv_freq: a buffer some older checkpoints saved; minilm recomputes it from rope_theta
    used = [n for n in weights if n.endswith("rotary_emb.inv_freq")]
    state = {}
    for ours, theirs in _llama_table(config):
        state[ours + ".weight"] = np.concatenate([_take(weights, used, t + ".weight") for t in theirs])
        if _has_bias(ours, config):
            state[ours + ".bias"] = np.concatenate([_take(weights, used, t + ".bias") for t in theirs])
    state["_used"] = used
    return state


def llama_hf_config(c):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": c.vocab_size,
            "hidden_size": c.n_embd, "intermediate_size": c.intermediate_size, "num_hidden_layers": c.n_layer,
            "num_attention_heads": c.n_head, "num_key_value_heads": c.n_kv_head, "head_dim": c.n_embd // c.n_head,
            "max_position_embeddings": c.block_size, "rms_norm_eps": c.norm_eps, "hidden_act": "silu",
            # rope_theta for transformers 4.x, rope_parameters for 5.x
            "rope_theta": c.rope_theta, "rope_parameters": {"rope_type": "default", "rope_theta": c.rope_theta},
            "rope_scaling": None, "attention_bias": c.bias, "mlp_bias": c.bias,
            "tie_word_embeddings": c.tie_embeddings, "attention_dropout": 0.0, "dtype": "float32"}


def llama_weights(state, c):
    """Each stacked minilm matrix is cut back into the Llama projections it was made of."""
    hs = c.n_embd // c.n_head
    rows = {"q_proj": c.n_embd, "k_proj": c.n_kv_head * hs, "v_proj": c.n_kv_head * hs,
            "gate_proj": c.intermediate_size, "up_proj": c.intermediate_size}
    out = {}
    for ours, theirs in _llama_table(c):
        for suffix in (".weight", ".bias") if _has_bias(ours, c) else (".weight",):
            array, start = state[ours + suffix], 0
            for t in theirs:
                n = rows.get(t.rsplit(".", 1)[-1], len(array))
                out[t + suffix] = array[start:start + n]
                start += n
    return out


# ---------------------------------------------------------------- Qwen3: Llama + QK-norm, no biases
def qwen3_config(hf):
    _refuse(hf.get("attention_bias"), "attention_bias true", "biases on Qwen3's attention but not on its "
            "feed-forward, and minilm's bias option puts biases on every projection or on none")
    windowed = sorted(set(hf.get("layer_types") or ()) - {"full_attention"})
    _refuse(bool(windowed), f"layer_types {windowed}", "attention limited to a window of keys")
    return dataclasses.replace(llama_config(hf), qk_norm=True)


def qwen3_state(weights, config):
    """Llama's weights; q_norm and k_norm must be all ones, the gain minilm's QK-norm does not have."""
    used = []
    for i in range(config.n_layer):
        for norm in QK_NORMS:
            name = f"model.layers.{i}.{norm}.weight"
            if not np.all(_take(weights, used, name) == 1):
                raise ValueError(f"{name} is not all ones: minilm's QK-norm has no learned gain, so this "
                                 "Qwen3 model cannot be loaded exactly; only models exported by minilm (or "
                                 "with q_norm and k_norm weights of 1) can")
    state = llama_state(weights, config)
    state["_used"] += used
    return state


def qwen3_hf_config(c):
    if c.bias:
        raise ValueError("Qwen3 has no feed-forward biases, so a model with bias=True and qk_norm has no "
                         "Hugging Face architecture; train it with --no-bias to export it")
    hf = {**llama_hf_config(c), "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
          "use_sliding_window": False, "sliding_window": None}
    del hf["mlp_bias"]
    return hf


def qwen3_weights(state, c):
    ones = np.ones(c.n_embd // c.n_head, np.float32)                    # (hs,): per head, shared by the heads
    norms = {f"model.layers.{i}.{norm}.weight": ones for i in range(c.n_layer) for norm in QK_NORMS}
    return {**llama_weights(state, c), **norms}
