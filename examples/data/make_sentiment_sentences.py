r"""Write sentiment_sentences.jsonl, the labelled review sentences that lesson 13's classifier learns from
(minilm.data.load_labeled reads the file as [(text, label)]).

    # unzip https://archive.ics.uci.edu/static/public/331/sentiment+labelled+sentences.zip, then
    python examples/data/make_sentiment_sentences.py "sentiment labelled sentences"

The source is the "Sentiment Labelled Sentences" collection of the UCI Machine Learning Repository
(Kotzias et al., KDD 2015; CC BY 4.0, see sentiment_sentences.LICENSE.md): three files of 1,000
sentences each, from Amazon, IMDb and Yelp reviews, every line `sentence<TAB>label` with label 1
(positive) or 0 (negative). One JSON object per sentence, {"text", "label", "source"}, in the files'
order (amazon, imdb, yelp); three bytes of the Windows-1252 code page that the files carry as C1
control characters become the characters they stand for (\x85 …, \x96 –, \x97 —),
surrounding spaces are stripped, and a sentence that occurs twice is kept once (18 of them; no
sentence occurs with both labels).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt", "yelp": "yelp_labelled.txt"}
CP1252 = str.maketrans({"\x85": "\u2026", "\x96": "\u2013", "\x97": "\u2014"})


def read_source(path):
    """[(sentence, label)] of one file, split at newlines only (str.splitlines also cuts at U+0085)."""
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    rows = []
    for line in filter(None, (line.rstrip("\r") for line in lines)):
        sentence, _, label = line.rpartition("\t")
        if label not in ("0", "1"):
            raise ValueError(f"{path}: expected `sentence<TAB>0 or 1`, got {line!r}")
        rows.append((sentence.translate(CP1252).strip(), int(label)))
    return rows


def main(folder):
    seen, records = {}, []
    for source, name in SOURCES.items():
        for text, label in read_source(os.path.join(folder, name)):
            if text in seen:
                if seen[text] != label:
                    raise ValueError(f"{text!r} occurs with both labels")
                continue
            seen[text] = label
            records.append({"text": text, "label": label, "source": source})
    with open(os.path.join(HERE, "sentiment_sentences.jsonl"), "w", encoding="utf-8") as f:
        f.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    print(f"wrote {len(records)} sentences to sentiment_sentences.jsonl")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sentiment labelled sentences")
