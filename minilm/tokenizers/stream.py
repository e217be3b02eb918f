"""Encoding a text too large for memory: in pieces, cut where the ids cannot change.

    for ids in tokenizer.encode_iterable(open("big.txt")):     # the ids of the whole file, lazily
        ...

A BPE tokenizer first splits its text into chunks with a regex, and merges never
cross a chunk. Pieces of the text encode exactly like the whole only if every
cut falls on a chunk boundary of the whole text that each piece also ends or
starts a chunk at. A cut inside a word ("wor" + "ld") fails; so does a cut just
after whitespace: GPT-2's `\\s+(?!\\S)` takes a piece's trailing "\\n\\n" as one
chunk (token 628), where in the whole text, followed by a letter, it is "\\n",
"\\n" (198, 198).

SAFE_CUT is just after a newline between two visible characters, "X\\nY":

  * no chunk holds X and the newline together, except where a pattern lets
    punctuation take the newlines after it (GPT-4's ` ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*`):
    then the chunk is "X\\n" in the whole text and in the piece alike, since it
    cannot go on into Y, which is no newline;
  * no chunk holds the newline and Y together: a letter's optional prefix
    excludes \\r\\n (GPT-4, Llama 3), a punctuation run's is a space (GPT-2);
  * so the chunks left of the cut end at it, and the right piece starts a chunk
    at Y, as the whole text does.

That argument holds for bpe.PROVEN_PATTERNS (GPT-2's and GPT-4's, which minilm
ships, and those of the Hugging Face tokenizers it reads: GPT-2, Llama 3,
Qwen 2), and tests/tokenizers/test_encode_iterable.py checks it on random
texts for each. A tokenizer with
another pattern, or one that changes the start of its text (a prefix space),
is not cut at all: its text is encoded whole, exact but not in bounded memory.
A special token that holds a newline turns cutting off too (a cut could split it).

One limit remains: a text with no safe cut in MAX_PIECE_CHARS characters (a
16 M-character line) is cut where it is, so that memory stays bounded.
"""
import regex

SAFE_CUT = regex.compile(r"(?<=\S)\n(?=\S)")
PIECE_CHARS = 1 << 20            # about a megabyte of text per piece
MAX_PIECE_CHARS = 1 << 24

def text_pieces(texts, cut=True):
    """The concatenation of `texts` (strings: a file's lines or blocks), in pieces that end at a safe cut.

    cut=False: one piece, the whole text (for a tokenizer that no cut is proven safe for).
    """
    if not cut:
        yield "".join(texts)
        return
    carry, pending, pending_chars = "", [], 0
    for text in texts:
        pending.append(text)
        pending_chars += len(text)
        if pending_chars < PIECE_CHARS:
            continue
        new = "".join(pending)
        pending, pending_chars = [], 0
        text = carry + new
        last = None     # the last safe cut in the new text, with a character after it (the lookahead needs one)
        for last in SAFE_CUT.finditer(text, max(0, len(text) - len(new) - 1)):
            pass
        if last is None and len(text) < MAX_PIECE_CHARS:
            carry = text
            continue
        end = last.end() if last is not None else len(text)
        yield text[:end]
        carry = text[end:]
    rest = carry + "".join(pending)
    if rest:
        yield rest
