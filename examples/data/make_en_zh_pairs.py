"""Write en_zh_hsk.tsv, the English-Chinese sentence pairs that examples/translate.py learns from.

    pip install hsk-sentences-audio==1.0.0 && python examples/data/make_en_zh_pairs.py

The pairs come from the PyPI package hsk-sentences-audio 1.0.0 (4,354 graded HSK 3.0 sentences with
an English translation each), whose dataset is released under CC-BY-SA-4.0 (see
en_zh_hsk.LICENSE.md). One line per pair: English, a tab, simplified Chinese, a tab, the HSK level
(1-6), in the package's order; a sentence that occurs twice is kept once; tabs and newlines inside
a sentence become spaces.
"""
import os

from hsk_sentences_audio import load_sentences

HERE = os.path.dirname(os.path.abspath(__file__))


def clean(text):
    return " ".join(text.replace("\t", " ").split())


def main():
    seen, lines = set(), []
    for record in load_sentences():
        english, chinese = clean(record["translation"]["en"]), clean(record["chinese"])
        if english and chinese and chinese not in seen:
            seen.add(chinese)
            lines.append(f"{english}\t{chinese}\t{record['hsk_level']}\n")
    with open(os.path.join(HERE, "en_zh_hsk.tsv"), "w", encoding="utf-8") as f:
        f.writelines(lines)
    print(f"wrote {len(lines)} pairs to en_zh_hsk.tsv")


if __name__ == "__main__":
    main()
