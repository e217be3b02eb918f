"""Lesson 13 checks: teacher forcing against examples/translate.py's batches, and BLEU against sacrebleu."""
import numpy as np

from minilm.course import example
from minilm.course.checking import expect, expect_close


def check_teacher_forcing(ex):
    """teacher_forcing gives translate.py's decoder input and target for sentences of different lengths"""
    translate = example("translate")
    pairs = [("I am here.", "我在这儿。"), ("Good.", "好。"), ("See you tomorrow!", "明天见！")]
    tokenizer, special = translate.build_tokenizer(pairs)
    _, want_in, want_out = translate.make_batch(pairs, tokenizer, special)
    got_in, got_out = ex.teacher_forcing([tokenizer.encode(zh) for _, zh in pairs], special["bos"], special["eos"],
                                         special["pad"])
    expect(np.array_equal(np.asarray(got_in), want_in), f"tgt_in is\n{np.asarray(got_in)}\nexpected\n{want_in}",
           check_teacher_forcing.hint)
    expect(np.array_equal(np.asarray(got_out), want_out), f"tgt_out is\n{np.asarray(got_out)}\nexpected\n{want_out}",
           check_teacher_forcing.hint)


check_teacher_forcing.hint = ("make one array of [bos] + target + [eos] rows padded with pad (longest + 2 columns); "
                              "tgt_in = full[:, :-1]; tgt_out = full[:, 1:] with pad replaced by -100 (a short row's "
                              "tgt_in keeps its [eos]: harmless, nothing after it is predicted)")
check_teacher_forcing.hint_zh = ("先把每行写成 [bos] + 目标句 + [eos]，用 pad 补齐（最长句子长度 + 2 列）；tgt_in = full[:, :-1]；"
                                 "tgt_out = full[:, 1:]，其中 pad 换成 -100（短句的 tgt_in 里会留下 [eos]：无妨，它之后的位置都不预测）")


def check_corpus_bleu(ex):
    """corpus_bleu equals sacrebleu's character BLEU without smoothing on three small corpora"""
    import sacrebleu
    corpora = [
        (["我们明天去北京。", "他很喜欢喝茶。", "今天天气很好。"], ["我们明天去北京。", "他非常喜欢喝茶。", "今天的天气很好。"]),
        (["我喜欢学习中文", "你好"], ["我很喜欢学习中文。", "你好吗？"]),                    # short: the brevity penalty
        (["猫在桌子上", "书在这里"], ["狗在桌子下面", "书包在那里"]),                        # a 4-gram precision of 0
    ]
    for hypotheses, references in corpora:
        want = sacrebleu.corpus_bleu(hypotheses, [references], tokenize="char", smooth_method="none").score
        expect_close(ex.corpus_bleu(hypotheses, references), want, f"BLEU of {hypotheses}", check_corpus_bleu.hint,
                     atol=1e-6, rtol=1e-6)


check_corpus_bleu.hint = ("sum clipped matches and hypothesis n-grams over the whole corpus before dividing (not a mean "
                          "of sentence scores); clip with min(count in hypothesis, count in reference); BP uses total lengths")
check_corpus_bleu.hint_zh = ("先在整个语料上累加截断后的匹配数和假设中的 n 元组数，再相除（而不是对句子分数取平均）；截断用 "
                             "min(假设中的次数, 参考中的次数)；简短惩罚用总长度计算")
