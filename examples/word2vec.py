"""word2vec: skip-gram with negative sampling (Mikolov et al., 2013), on minilm's autograd.

For each word w and a word c within `window` of it, make the dot product of
their vectors large; for k "negative" words drawn from the unigram^0.75
distribution, make it small:

    loss = -log sigmoid(v_w . u_c) - sum_k log sigmoid(-v_w . u_neg_k)

Words used in similar contexts end up with similar vectors. The vectors of the most frequent
words are drawn in 2-D (PCA, minilm.viz.plot_embeddings) to words.png.

    python examples/word2vec.py [--steps 3000] [--device cpu] [--save words.png] [--words 150]
"""
import argparse
import collections

import minilm  # before NumPy: minilm sets how long BLAS threads spin (minilm/parallel.py)
import numpy as np
import minilm.functional as F
from minilm import nn
from minilm.data import clean_text, load_corpus
from minilm.viz import plot_embeddings
from minilm.viz.figures import MissingDependency


def log_sigmoid(x):
    # log sigmoid(x) = -log(1 + e^-x) = min(x, 0) - log(1 + e^-|x|): stable for large |x|
    return F.clamp(x, max=0.0) - F.log(1 + F.exp(-F.abs(x)))


class SkipGram(nn.Module):
    def __init__(self, vocab_size, dim):
        super().__init__()
        self.center = nn.Embedding(vocab_size, dim)
        self.context = nn.Embedding(vocab_size, dim)
        nn.init.uniform_(self.center.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.context.weight)

    def forward(self, center, context, negatives):
        v = self.center(center)                                          # (B, D)
        u = self.context(context)                                        # (B, D)
        u_neg = self.context(negatives)                                  # (B, k, D)
        positive = log_sigmoid((v * u).sum(-1))                          # (B,)
        negative = log_sigmoid(-(u_neg @ F.unsqueeze(v, -1)).squeeze(-1)).sum(-1)  # (B,)
        return -(positive + negative).mean()


def nearest(model, words, index, query, k=5):
    vectors = model.center.weight.numpy()
    vectors = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-8)
    sims = vectors @ vectors[index[query]]
    return [words[i] for i in np.argsort(-sims)[1:k + 1]]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--window", type=int, default=3)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--save", default="words.png", help="the 2-D picture of the word vectors ('' for none)")
    p.add_argument("--words", type=int, default=150, help="how many of the most frequent words to draw")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args()
    if args.smoke:
        args.steps = 5
    minilm.manual_seed(0)
    tokens = clean_text(load_corpus("shakespeare"), lowercase=True, strip_punctuation=True).split()
    counts = collections.Counter(tokens)
    words = [w for w, c in counts.most_common() if c >= 5]
    index = {w: i for i, w in enumerate(words)}
    ids = np.array([index[t] for t in tokens if t in index])
    noise = np.array([counts[w] for w in words], dtype=np.float64) ** 0.75
    noise /= noise.sum()
    model = SkipGram(len(words), args.dim).to(args.device)
    opt = minilm.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    print(f"{len(ids):,} tokens, {len(words):,} words")
    for step in range(args.steps):
        pos = rng.integers(args.window, len(ids) - args.window, 512)
        offset = rng.choice(np.r_[-args.window:0, 1:args.window + 1], 512)
        negatives = rng.choice(len(words), (512, args.negatives), p=noise)
        loss = model(minilm.tensor(ids[pos], device=args.device), minilm.tensor(ids[pos + offset], device=args.device),
                     minilm.tensor(negatives, device=args.device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 500 == 0 or step == args.steps - 1:
            print(f"step {step}: loss {loss.item():.4f}")
    for query in ("king", "love", "father", "good", "thou"):
        print(f"{query:>8}: {', '.join(nearest(model, words, index, query))}")
    if args.save:
        try:
            plot_embeddings(model.center.weight.numpy()[:args.words], words[:args.words], args.save,
                            title=f"word2vec, the {args.words} most frequent words")
            print(f"wrote {args.save}")
        except MissingDependency as e:
            print(f"no picture: {e}")


if __name__ == "__main__":
    main()
