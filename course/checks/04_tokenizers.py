"""Lesson 4 checks: a character tokenizer, BPE training and BPE encoding against minilm's tokenizers."""
from collections import Counter

from minilm.course.checking import CheckFailed, expect
from minilm.data import load_corpus
from minilm.tokenizers import BPETokenizer, CharTokenizer
from minilm.tokenizers.bpe_train import learn_merges


def _sample():
    return load_corpus("shakespeare")[:5000]


def check_char_tokenizer(ex):
    """char_vocabulary, encode and decode agree with CharTokenizer and round-trip"""
    text = _sample() + "é中"
    reference = CharTokenizer.from_text(text)
    vocabulary = ex.char_vocabulary(text)
    expect(list(vocabulary) == reference.chars, f"the vocabulary has {len(vocabulary)} characters, starting "
           f"{list(vocabulary)[:5]}; expected {len(reference.chars)} starting {reference.chars[:5]}",
           check_char_tokenizer.hint)
    line = "What, ho! é中"
    ids = ex.encode(line, vocabulary)
    expect(list(ids) == reference.encode(line), f"encode({line!r}) gave {ids}, expected {reference.encode(line)}",
           check_char_tokenizer.hint)
    back = ex.decode(reference.encode(line), vocabulary)
    expect(back == line, f"decode gave {back!r}, expected {line!r}", check_char_tokenizer.hint)


check_char_tokenizer.hint = ("sorted(set(text)) is the vocabulary; encode looks each character up in a dict "
                             "{character: position}; decode joins vocabulary[i] for each id")
check_char_tokenizer.hint_zh = ("词表就是 sorted(set(text))；encode 在字典 {字符: 位置} 中查每个字符；"
                                "decode 把每个 id 对应的 vocabulary[i] 拼接起来")


def check_train_bpe(ex):
    """train_bpe learns the same 30 merges as minilm's learn_merges (and stops when pairs run out)"""
    bpe = BPETokenizer("gpt4")
    chunks = dict(Counter(bpe.compiled.findall(_sample()[:2000])))
    want = [pair for pair, _ in learn_merges(chunks, 30)]
    got = [tuple(p) for p in ex.train_bpe(chunks, 30)]
    for k, (g, w) in enumerate(zip(got, want)):
        if g != w:
            raise CheckFailed(f"merge {k} (id {256 + k}) is {g}, expected {w}", check_train_bpe.hint)
    expect(len(got) == len(want), f"{len(got)} merges, expected {len(want)}", check_train_bpe.hint)
    short = [tuple(p) for p in ex.train_bpe({"aaab": 1}, 10)]
    expect(short == [(97, 97), (97, 98), (256, 257)], f"train_bpe({{'aaab': 1}}, 10) gave {short}, expected "
           "[(97, 97), (97, 98), (256, 257)]: after 'aa' -> 256 the pairs (256, 97) and (97, 98) tie and the "
           "smaller wins; training stops when no pair is left", check_train_bpe.hint)


check_train_bpe.hint = ("count pairs with a Counter, adding the chunk's count for every adjacent pair; pick "
                        "min(counts, key=lambda p: (-counts[p], p)); replace left to right, skipping past a merged pair")
check_train_bpe.hint_zh = ("用 Counter 统计相邻的对，每出现一次就加上该片段的计数；用 "
                           "min(counts, key=lambda p: (-counts[p], p)) 选出要合并的对；从左到右替换，合并后跳过这一对")


def check_encode_bpe(ex):
    """encode_bpe gives BPETokenizer's ids for 40 words, applying merges by rank"""
    tok = BPETokenizer("gpt4").train(_sample(), vocab_size=256 + 60)
    merges = list(tok.merges)
    for chunk in tok.compiled.findall(_sample()[3000:3300]) + [" aaaa", "héllo"]:
        want = tok.encode(chunk)
        got = list(ex.encode_bpe(chunk, merges))
        expect(got == want, f"encode_bpe({chunk!r}) gave {got}, expected {want}", check_encode_bpe.hint)


check_encode_bpe.hint = ("start from list(chunk.encode('utf-8')); while some adjacent pair is in merges, merge the "
                         "pair with the smallest index in merges (its new id is 256 + index) everywhere")
check_encode_bpe.hint_zh = ("从 list(chunk.encode('utf-8')) 开始；只要还有相邻的对在 merges 中，就把在 merges 中"
                            "下标最小的那一对（新 id 为 256 + 下标）在各处合并")
