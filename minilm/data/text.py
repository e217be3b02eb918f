"""Raw text in: the bundled corpus, cleaning, and labelled examples.

Language-model training keeps text as it is: capitals, punctuation and small
words are exactly what the model must learn to predict, so `clean_text` by
default only repairs encoding noise (Unicode normal form, control characters,
line endings, runs of spaces). Lowercasing, punctuation stripping and stopword
removal are opt-in: they shrink the vocabulary for a bag-of-words classifier,
but would leave a language model unable to write a capital letter.

What counts as noise: control characters (Unicode category Cc: NUL, bell,
escape...) except newline and tab, lone surrogates (Cs, which cannot be
written as UTF-8) and the byte-order mark. Other invisible format characters
(Cf) stay: the zero-width joiner holds emoji sequences like 👨‍👩‍👧 together
and the zero-width non-joiner is spelling in Persian. Every line break
(\r\n, \r, U+0085, U+2028, U+2029) becomes \n.
"""
import codecs
import csv
import json
import os
import unicodedata

import regex

CORPORA = {"shakespeare": "tinyshakespeare.txt"}

# A short English stopword list (function words), for classic classification pipelines.
STOPWORDS = frozenset("""a an and are as at be but by for from had has have he her his i if in into is
it its me my no not of on or our she so than that the their them then there these they this to
was we were what when which who will with would you your""".split())


def load_corpus(name_or_path, encoding="utf-8"):
    """The text of a bundled corpus ("shakespeare") or of a text file in `encoding` (strict: no byte is guessed)."""
    if name_or_path in CORPORA:
        path = os.path.join(os.path.dirname(__file__), CORPORA[name_or_path])
        encoding = "utf-8"
    else:
        path = os.fspath(name_or_path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no corpus named {name_or_path!r}: expected one of "
                                    f"{sorted(CORPORA)} or the path of a text file")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"unknown text encoding {encoding!r}; expected one Python knows, "
                         "e.g. utf-8, latin-1, cp1252") from None
    with open(path, encoding=encoding) as f:
        try:
            text = f.read()
        except UnicodeDecodeError as e:
            raise undecodable(path, encoding, e) from None
    if not text:
        raise ValueError(f"corpus {name_or_path!r} is empty")
    return text


def undecodable(path, encoding, error):
    """A ValueError naming the file, the byte offset of the first byte `encoding` cannot decode, and the way out."""
    with open(path, "rb") as f:                      # a text stream's error knows only its chunk's offset
        raw = f.read()
    try:
        raw.decode(encoding)
        offset, byte = error.start, error.object[error.start:error.start + 1]
    except UnicodeDecodeError as e:
        offset, byte = e.start, raw[e.start:e.start + 1]
    return ValueError(f"{path} is not valid {encoding} text: byte 0x{byte.hex()} at byte offset {offset} "
                      f"({error.reason}); if the file is in another encoding, give it with --encoding "
                      "(e.g. --encoding latin-1 or --encoding cp1252)")


def clean_text(text, lowercase=False, strip_punctuation=False, remove_stopwords=False,
               collapse_whitespace=True):
    """NFC-normalise, drop control characters, normalise newlines and spaces; optional extras."""
    text = unicodedata.normalize("NFC", text)
    text = regex.sub(r"\r\n|[\r\x85\u2028\u2029]", "\n", text)
    text = regex.sub(r"(?![\n\t])[\p{Cc}\p{Cs}\ufeff]", "", text)
    if collapse_whitespace:
        text = regex.sub(r"[ \t\p{Zs}]+", " ", text)          # runs of spaces -> one space
        text = regex.sub(r" *\n *", "\n", text)
        text = regex.sub(r"\n{3,}", "\n\n", text)              # at most one blank line
    if lowercase:
        text = text.lower()
    if strip_punctuation:
        text = regex.sub(r"\p{P}+", "", text)
    if remove_stopwords:
        text = "\n".join(" ".join(w for w in line.split(" ") if w.lower() not in STOPWORDS)
                         for line in text.split("\n"))
    return text


def load_labeled(path, text_field="text", label_field="label"):
    """[(text, label)] from a .csv (with a header) or .jsonl file; names the line of a bad record."""
    path = os.fspath(path)
    examples = []
    with open(path, encoding="utf-8", newline="") as f:
        if path.endswith(".jsonl"):
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    examples.append((record[text_field], record[label_field]))
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    raise ValueError(f"{path}, line {line_no}: malformed record ({e!r}); expected "
                                     f"a JSON object with {text_field!r} and {label_field!r}") from None
        elif path.endswith(".csv"):
            reader = csv.DictReader(f)
            if not {text_field, label_field} <= set(reader.fieldnames or ()):
                raise ValueError(f"{path}, line 1: the header has columns {reader.fieldnames}, expected "
                                 f"{text_field!r} and {label_field!r}; name yours with text_field=, label_field=")
            for record in reader:
                line_no = reader.line_num
                if record.get(text_field) is None or record.get(label_field) in (None, ""):
                    raise ValueError(f"{path}, line {line_no}: malformed record; expected columns "
                                     f"{text_field!r} and {label_field!r}, got {record}")
                examples.append((record[text_field], record[label_field]))
        else:
            raise ValueError(f"{path}: expected a .csv or .jsonl file")
    return examples
