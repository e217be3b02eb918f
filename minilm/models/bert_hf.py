"""BERT <-> Hugging Face folders of BertForMaskedLM models.

The folder I/O (config.json, safetensors, dtypes, refusing pickles) is
minilm/hf.py; this file is only the translation a BERT needs:

  * config.json -> BERTConfig, refusing what would change the math and that
    minilm does not implement (relative position embeddings, other
    activations, a decoder with cross-attention);
  * weight names -> minilm's. Embeddings and the MLM head keep their roles,
    the encoder layers become nn.TransformerEncoderLayer's names:

    transformers (bert.encoder.layer.i.)     minilm (bert.encoder.layers.i.)
    attention.self.query / key / value       self_attn.in_proj_weight, in_proj_bias (rows q, k, v)
    attention.output.dense                   self_attn.out_proj
    attention.output.LayerNorm               norm1
    intermediate.dense                       linear1
    output.dense                             linear2
    output.LayerNorm                         norm2
    bert.embeddings.LayerNorm                bert.embeddings.norm
    cls.predictions.transform.dense          mlm_head.transform
    cls.predictions.transform.LayerNorm      mlm_head.norm
    cls.predictions.bias                     mlm_head.bias
    cls.predictions.decoder.weight           (tied: bert.embeddings.word_embeddings.weight)

transformers calls its LayerNorm parameters weight and bias (old checkpoints:
gamma and beta, which are read too). save_pretrained writes the same table
backwards, so `transformers.BertForMaskedLM.from_pretrained(folder)` computes
the same logits (checked by tests/fixtures/make_bert_fixtures.py).
"""
import numpy as np

from ..hf import load_safetensors_weights, read_config, weight_files, write_folder
from .bert_config import BERTConfig
from .gpt_hf import _refuse, _required     # the same refusals and messages as the GPT folders

LAYER = [("self_attn.out_proj", "attention.output.dense"), ("norm1", "attention.output.LayerNorm"),
         ("linear1", "intermediate.dense"), ("linear2", "output.dense"), ("norm2", "output.LayerNorm")]
HEAD = [("bert.embeddings.norm", "bert.embeddings.LayerNorm"),
        ("mlm_head.transform", "cls.predictions.transform.dense"),
        ("mlm_head.norm", "cls.predictions.transform.LayerNorm")]
# buffers some checkpoints saved: recomputed by minilm, never weights
BUFFERS = ("bert.embeddings.position_ids", "bert.embeddings.token_type_ids")


def read_pretrained(folder):
    """(BERTConfig, state_dict) of a Hugging Face BertForMaskedLM folder; BERT.from_pretrained builds the model."""
    hf = read_config(folder)
    weight_files(folder)                                                 # a pickle-only folder is refused first
    if hf.get("model_type") != "bert":
        raise ValueError(f"{folder}/config.json is a {hf.get('model_type')!r} model; BERT.from_pretrained "
                         "reads 'bert' models (BertForMaskedLM folders)")
    config = bert_config(hf)
    weights = _with_new_names(load_safetensors_weights(folder))
    state, used = bert_state(weights, config)
    unused = sorted(set(weights) - set(used) - set(BUFFERS))
    if unused:
        raise ValueError(f"{folder} has weights that a BertForMaskedLM has no place for: "
                         f"{', '.join(unused[:4])}{' ...' if len(unused) > 4 else ''}; the folder is of "
                         "another BERT head or architecture, so it cannot be loaded exactly")
    return config, state


def bert_config(hf):
    position = hf.get("position_embedding_type", "absolute")
    _refuse(position != "absolute", f"position_embedding_type {position!r}", "relative position scores")
    _refuse(hf.get("hidden_act", "gelu") != "gelu", f"hidden_act {hf.get('hidden_act')!r}",
            "minilm's BERT uses the exact (erf) GELU")
    _refuse(hf.get("is_decoder") or hf.get("add_cross_attention"), "is_decoder / add_cross_attention",
            "a causal BERT decoder")
    _refuse(hf.get("tie_word_embeddings", True) is False, "tie_word_embeddings false",
            "an MLM decoder separate from the word embeddings")
    return BERTConfig(vocab_size=_required(hf, "vocab_size"), block_size=_required(hf, "max_position_embeddings"),
                      n_layer=_required(hf, "num_hidden_layers"), n_head=_required(hf, "num_attention_heads"),
                      n_embd=_required(hf, "hidden_size"), intermediate_size=_required(hf, "intermediate_size"),
                      type_vocab_size=hf.get("type_vocab_size", 2),
                      dropout=hf.get("hidden_dropout_prob", 0.1), norm_eps=hf.get("layer_norm_eps", 1e-12),
                      pad_id=hf.get("pad_token_id") or 0)


def _with_new_names(weights):
    """LayerNorm gamma/beta (old checkpoints) as weight/bias; a BertModel's names with the bert. prefix."""
    renamed = {}
    for name, array in weights.items():
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        if not name.startswith(("bert.", "cls.")):
            name = "bert." + name
        renamed[name] = array
    return renamed


def bert_state(weights, config):
    """(minilm state_dict, the Hugging Face names it used)."""
    used = []

    def take(name):
        if name not in weights:
            raise ValueError(f"the weights have no {name!r}, which a BertForMaskedLM with this config.json "
                             "has; the folder may be incomplete or of another architecture")
        used.append(name)
        return weights[name]

    state = {}
    for table in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        state[f"bert.embeddings.{table}.weight"] = take(f"bert.embeddings.{table}.weight")
    for ours, theirs in HEAD:
        state[ours + ".weight"], state[ours + ".bias"] = take(theirs + ".weight"), take(theirs + ".bias")
    state["mlm_head.bias"] = take("cls.predictions.bias" if "cls.predictions.bias" in weights
                                  else "cls.predictions.decoder.bias")
    for name in ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias"):
        if name in weights:                        # saved although tied: it must be the tied copy
            used.append(name)
    decoder = weights.get("cls.predictions.decoder.weight")
    if decoder is not None and not np.array_equal(decoder, state["bert.embeddings.word_embeddings.weight"]):
        raise ValueError("cls.predictions.decoder.weight differs from the word embeddings; minilm's BERT "
                         "ties them, so this model cannot be loaded exactly")
    for i in range(config.n_layer):
        ours, theirs = f"bert.encoder.layers.{i}.", f"bert.encoder.layer.{i}."
        qkv = [theirs + f"attention.self.{p}" for p in ("query", "key", "value")]
        state[ours + "self_attn.in_proj_weight"] = np.concatenate([take(n + ".weight") for n in qkv])  # (3C, C)
        state[ours + "self_attn.in_proj_bias"] = np.concatenate([take(n + ".bias") for n in qkv])      # (3C,)
        for our_module, their_module in LAYER:
            for suffix in (".weight", ".bias"):
                state[ours + our_module + suffix] = take(theirs + their_module + suffix)
    return state, used


def save_pretrained(model, folder, overwrite=False):
    """Write config.json and model.safetensors of a BertForMaskedLM with this BERT's weights."""
    c = model.config
    state = {k: np.asarray(v.get() if hasattr(v, "get") else v) for k, v in model.state_dict().items()}
    weights = {name: state[name] for name in state if name.startswith("bert.embeddings.") and "norm" not in name}
    for ours, theirs in HEAD:
        weights[theirs + ".weight"], weights[theirs + ".bias"] = state[ours + ".weight"], state[ours + ".bias"]
    weights["cls.predictions.bias"] = state["mlm_head.bias"]
    for i in range(c.n_layer):
        ours, theirs = f"bert.encoder.layers.{i}.", f"bert.encoder.layer.{i}."
        for suffix, stacked in ((".weight", "self_attn.in_proj_weight"), (".bias", "self_attn.in_proj_bias")):
            for part, rows in zip(("query", "key", "value"), np.split(state[ours + stacked], 3)):
                weights[theirs + f"attention.self.{part}{suffix}"] = rows
        for our_module, their_module in LAYER:
            for suffix in (".weight", ".bias"):
                weights[theirs + their_module + suffix] = state[ours + our_module + suffix]
    hf = {"architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": c.vocab_size,
          "hidden_size": c.n_embd, "num_hidden_layers": c.n_layer, "num_attention_heads": c.n_head,
          "intermediate_size": c.intermediate_size, "max_position_embeddings": c.block_size,
          "type_vocab_size": c.type_vocab_size, "hidden_act": "gelu", "layer_norm_eps": c.norm_eps,
          "hidden_dropout_prob": c.dropout, "attention_probs_dropout_prob": c.dropout, "pad_token_id": c.pad_id,
          "position_embedding_type": "absolute", "tie_word_embeddings": True, "dtype": "float32"}
    write_folder(folder, hf, weights, overwrite)
