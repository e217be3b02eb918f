"""Byte-level BPE tokenizers in Hugging Face's formats: tokenizer.json, or vocab.json + merges.txt.

The GPT-2, Llama-3 and Qwen families share one algorithm with minilm's
BPETokenizer (bpe.py): split the text with a regex, encode each chunk's UTF-8
bytes, apply the merges in the order they were learned. What differs is
bookkeeping, and this file translates it into plain data (the vocabulary, the
merges, the added tokens, the split pattern and the options), from which
bpe.py's HuggingFaceBPETokenizer is built; it never imports bpe.py:

  * Token strings. The vocabulary is stored as text, so each of the 256 byte
    values is written as one printable character (`bytes_to_unicode`: the
    printable ASCII and Latin-1 bytes stand for themselves, the other 68 are
    shifted to U+0100..U+0143; a space is "Ġ", a newline "Ċ").
  * Ids. Hugging Face numbers tokens freely (special tokens first, bytes in
    table order, ...), so the ids here are the vocabulary's own: a byte's id is
    looked up, and each merge keeps a rank (its position in `merges`) apart from
    the id of the token it makes.
  * Options of the pipeline: the pre-tokenizer's split pattern (GPT-2's built
    into `ByteLevel`, or a `Split` regex before it), `add_prefix_space`, an
    NFC normalizer (Qwen), `ignore_merges` (Llama-3: a chunk that is a whole
    vocabulary entry is that token), and added tokens, which are never split.

    >>> tok = BPETokenizer.from_pretrained("tests/fixtures/hf/tokenizer")
    >>> tok.encode("Hello world", allowed_special="all")       # the ids `tokenizers` gives

What is not byte-level BPE is refused rather than encoded wrongly: SentencePiece
models (Unigram, or BPE with byte_fallback and the "▁" Metaspace: Llama 1-2,
Mistral), WordPiece (BERT), and pre-tokenizers or normalizers other than the
above. Not reproduced: a post-processor's extra tokens (e.g. Llama-3's
<|begin_of_text|>: add it yourself) and the lstrip/rstrip options of added tokens
(refused). Text between the split pattern's matches is a chunk of its own, as
in tokenizers' "Isolated" behaviour.
"""
import errno
import json
import os

from ..serialization import atomic_write
from .base import _write_text

# the split pattern that tokenizers' ByteLevel pre-tokenizer builds in (use_regex=true): GPT-2's
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# the Split regexes of the Llama 3 and Qwen 2 tokenizer.json files (read from the file like any other;
# named here for the proof that streamed pieces encode like the whole text: stream.py)
LLAMA3_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
                  r"""\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN2_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
                 r"""\s*[\r\n]+|\s+(?!\S)|\s+""")
FORMAT_VERSION = 1         # of the "bpe-huggingface" entry in minilm's own files (to_dict)


def bytes_to_unicode():
    """{byte: character}: GPT-2's table that writes any byte as one printable character."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]          # the 68 others, shifted to U+0100..
    return {b: chr(b) if b in printable else chr(256 + others.index(b)) for b in range(256)}


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def token_bytes(token):
    """The bytes a vocabulary string stands for; None if it is not written in the byte table."""
    try:
        return bytes(CHAR_TO_BYTE[c] for c in token)
    except KeyError:
        return None


def token_string(data):
    return "".join(BYTE_TO_CHAR[b] for b in data)


def byte_level_tables(vocab, merges, added_tokens):
    """vocab {token string: id}, merges [(left string, right string)] in rank order, added_tokens
    [(content, id)] -> the id tables a HuggingFaceBPETokenizer encodes with:
    (id -> bytes, byte -> id (None: not in the vocabulary), (left id, right id) -> new id, -> rank)."""
    added = dict(added_tokens)
    id_to_bytes = {}
    for token, i in vocab.items():
        data = token_bytes(token)
        if data is None and token not in added:
            raise ValueError(f"vocabulary entry {token!r} is not written in the byte-level table: this is "
                             "not a byte-level BPE vocabulary (SentencePiece or WordPiece?)")
        id_to_bytes[i] = data if data is not None else token.encode("utf-8")
    byte_ids = [vocab.get(BYTE_TO_CHAR[b]) for b in range(256)]
    new_ids, ranks = {}, {}
    for rank, (left, right) in enumerate(merges):
        if left not in vocab or right not in vocab or left + right not in vocab:
            raise ValueError(f"merge {rank} ({left!r} {right!r}) names a token that is not in the vocabulary")
        pair = (vocab[left], vocab[right])
        if pair not in ranks:                            # (a repeated merge keeps its first rank)
            ranks[pair], new_ids[pair] = rank, vocab[left + right]
    return id_to_bytes, byte_ids, new_ids, ranks


# ---------------------------------------------------------------- reading
def read_pretrained(folder):
    """The pieces of a Hugging Face folder's tokenizer (tokenizer.json, else vocab.json + merges.txt):
    the keyword arguments of HuggingFaceBPETokenizer, which BPETokenizer.from_pretrained builds."""
    folder = os.fspath(folder)
    path = os.path.join(folder, "tokenizer.json")
    if os.path.exists(path):
        return read_tokenizer_json(_read_json(path))
    vocab_path, merges_path = os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
    if os.path.exists(vocab_path) and os.path.exists(merges_path):
        return read_vocab_and_merges(vocab_path, merges_path, os.path.join(folder, "added_tokens.json"))
    if os.path.exists(os.path.join(folder, "tokenizer.model")):
        raise ValueError(f"{folder} has a SentencePiece tokenizer.model, not byte-level BPE: minilm reads "
                         "tokenizer.json or vocab.json + merges.txt of the GPT-2 / Llama-3 / Qwen kind")
    raise FileNotFoundError(f"{folder} has no tokenizer.json (nor vocab.json + merges.txt)")


def read_tokenizer_json(d):
    """The pieces (as read_pretrained) of a tokenizer.json dict."""
    if not isinstance(d, dict) or not isinstance(d.get("model"), dict):
        raise ValueError("not a tokenizer.json: expected a JSON object with a \"model\" object "
                         "(as tokenizers.Tokenizer.save writes it)")
    model = d["model"]
    kind = model.get("type")
    _refuse(kind != "BPE", f"a {kind} model", "SentencePiece Unigram and WordPiece are other algorithms")
    _refuse(model.get("byte_fallback"), "byte_fallback", "SentencePiece-style BPE over characters")
    _refuse(model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"),
            "subword prefixes/suffixes", "a word-level BPE, not byte-level")
    _refuse(model.get("dropout"), "BPE dropout", "it makes encoding random")
    pattern, add_prefix_space = _pre_tokenizer(d.get("pre_tokenizer"))
    normalizer = _normalizer(d.get("normalizer"))
    added = []
    for token in d.get("added_tokens") or []:
        _refuse(token.get("lstrip") or token.get("rstrip") or token.get("single_word"),
                f"added token {token['content']!r} with lstrip/rstrip/single_word", "")
        added.append((token["content"], token["id"]))
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model.get("merges", [])]
    return dict(vocab=model.get("vocab", {}), merges=merges, added_tokens=added, pattern=pattern,
                add_prefix_space=add_prefix_space, ignore_merges=bool(model.get("ignore_merges")),
                normalizer=normalizer)


def read_vocab_and_merges(vocab_path, merges_path, added_path=None):
    """GPT-2's older pair of files; vocabulary entries no merge can make (<|endoftext|>) are never split."""
    vocab = _read_json(vocab_path)
    with open(merges_path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    merges = [tuple(line.split(" ", 1)) for line in lines if line and not line.startswith("#version")]
    made = {a + b for a, b in merges} | set(BYTE_TO_CHAR.values())
    added = [(token, i) for token, i in vocab.items() if token not in made]
    if added_path and os.path.exists(added_path):
        added += list(_read_json(added_path).items())
    return dict(vocab=vocab, merges=merges, added_tokens=added, pattern=GPT2_PATTERN)


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON ({e})") from None


def _refuse(condition, what, why):
    if condition:
        raise ValueError(f"this tokenizer has {what}{': ' + why if why else ''}; minilm reads byte-level BPE "
                         "tokenizers (GPT-2, Llama-3, Qwen) and refuses others rather than encode differently")


def _pre_tokenizer(p):
    """(split pattern, add_prefix_space) of ByteLevel, or of Sequence[Split(regex), ByteLevel]."""
    if p and p.get("type") == "ByteLevel":
        return (GPT2_PATTERN if p.get("use_regex", True) else r"[\s\S]+"), bool(p.get("add_prefix_space"))
    if p and p.get("type") == "Sequence":
        steps = p.get("pretokenizers", [])
        if (len(steps) == 2 and steps[0].get("type") == "Split" and "Regex" in steps[0].get("pattern", {})
                and steps[0].get("behavior") == "Isolated" and not steps[0].get("invert")
                and steps[1].get("type") == "ByteLevel" and not steps[1].get("use_regex", True)):
            # tokenizers adds that prefix space to every chunk the Split made, minilm once per text
            _refuse(steps[1].get("add_prefix_space"), "add_prefix_space on the ByteLevel after a Split",
                    "tokenizers then puts a space before every chunk of the split")
            return steps[0]["pattern"]["Regex"], False
    _refuse(True, f"the pre-tokenizer {json.dumps(p)[:120]}",
            "minilm reads ByteLevel, or a Split regex (Isolated) followed by ByteLevel without its regex")


def _normalizer(n):
    if n is None:
        return None
    if n.get("type") == "NFC":
        return "NFC"
    _refuse(True, f"the normalizer {json.dumps(n)[:80]}", "minilm applies none, or NFC")


# ---------------------------------------------------------------- writing
def tokenizer_json(tok):
    """The tokenizer.json dict of a BPETokenizer (minilm-trained, or read from Hugging Face): it reads
    the tokenizer's vocab (id -> bytes), merges, special_tokens, pattern and options."""
    vocab, seen = {}, {}
    special = {i: t for t, i in tok.special_tokens.items()}
    for i in sorted(set(tok.vocab) | set(special)):                 # (tokenizers needs added tokens here too)
        data = tok.vocab.get(i)
        token = special[i] if i in special else token_string(data)
        if token in seen:
            raise ValueError(f"ids {seen[token]} and {i} are the same bytes {data!r}; tokenizer.json can "
                             "hold each token string once")
        seen[token], vocab[token] = i, i
    merges = [[token_string(tok.vocab[a]), token_string(tok.vocab[b])] for a, b in tok.merges]
    options = getattr(tok, "options", {})
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for t, i in sorted(tok.special_tokens.items(), key=lambda kv: kv[1])]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "NFC"} if options.get("normalizer") == "NFC" else None,
        "pre_tokenizer": _pre_tokenizer_json(tok.pattern, bool(options.get("add_prefix_space"))),
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": bool(options.get("ignore_merges")), "vocab": vocab, "merges": merges},
    }


def _pre_tokenizer_json(pattern, add_prefix_space):
    """ByteLevel alone where it holds the pattern: a Split before it would add the prefix space to every chunk."""
    if pattern in (GPT2_PATTERN, r"[\s\S]+"):
        return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": True,
                "use_regex": pattern == GPT2_PATTERN}
    if add_prefix_space:
        raise ValueError("add_prefix_space with a split pattern other than GPT-2's cannot be written to "
                         "tokenizer.json: tokenizers would put a space before every chunk")
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}


def save_pretrained(tok, folder, overwrite=False):
    """Write folder/tokenizer.json (atomically); an existing one is kept unless overwrite=True."""
    path = os.path.join(os.fspath(folder), "tokenizer.json")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(errno.EEXIST, f"{path} exists; choose another folder or pass overwrite=True to replace it")
    text = json.dumps(tokenizer_json(tok), ensure_ascii=False, indent=1)
    atomic_write(path, lambda tmp: _write_text(tmp, text))
    return path

