"""word2vec: skip-gram with negative sampling (Mikolov et al., 2013), on minilm's autograd.

For each word w and a word c within `window` of it, make the dot product of
their vectors large; for k "negative" words drawn from the unigram^0.75
distribution, make it small:

    loss = -log sigmoid(v_w . u_c) - sum_k log sigmoid(-v_w . u_neg_k)

Words used in similar contexts end up with similar vectors. The vectors of the most frequent
words are drawn in 2-D (PCA, minilm.viz.plot_embeddings) to words.png.

    python examples/word2vec.py [--steps 3000] [--device cpu] [--save words.png] [--words 150]
"""
import collections
import sys

import numpy as np

import minilm
import minilm.functional as F
from minilm import nn
from minilm.cli import run_script
from minilm.cli.parser import CommandParser
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


def corpus_words(min_count=5):
    """(ids (N,) of the corpus' words, the vocabulary most frequent first, its counts): lowercase, no punctuation."""
    tokens = clean_text(load_corpus("shakespeare"), lowercase=True, strip_punctuation=True).split()
    counts = collections.Counter(tokens)
    words = [w for w, c in counts.most_common() if c >= min_count]
    index = {w: i for i, w in enumerate(words)}
    ids = np.array([index[t] for t in tokens if t in index])
    return ids, words, np.array([counts[w] for w in words], dtype=np.float64)


def train_skipgram(ids, counts, steps, dim=64, window=3, negatives=5, device="cpu", batch=512, log_every=500):
    """A SkipGram trained on the word ids; negatives are drawn from the unigram distribution^0.75."""
    noise = counts ** 0.75
    noise /= noise.sum()
    model = SkipGram(len(counts), dim).to(device)
    opt = minilm.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    for step in range(steps):
        pos = rng.integers(window, len(ids) - window, batch)
        offset = rng.choice(np.r_[-window:0, 1:window + 1], batch)
        negative_ids = rng.choice(len(counts), (batch, negatives), p=noise)
        loss = model(minilm.tensor(ids[pos], device=device), minilm.tensor(ids[pos + offset], device=device),
                     minilm.tensor(negative_ids, device=device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % log_every == 0 or step == steps - 1:
            print(f"step {step}: loss {loss.item():.4f}")
    return model


def nearest(vectors, words, query, k=5):
    """The k words whose vectors (V, D) have the largest cosine similarity with the query's."""
    vectors = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-8)
    sims = vectors @ vectors[words.index(query)]
    return [words[i] for i in np.argsort(-sims)[1:k + 1]]


QUERIES = ("king", "love", "father", "good", "thou")


def main(argv=None):
    p = CommandParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--window", type=int, default=3)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--save", default="words.png", help="the 2-D picture of the word vectors ('' for none)")
    p.add_argument("--words", type=int, default=150, help="how many of the most frequent words to draw")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    if args.smoke:
        args.steps = 5
    minilm.manual_seed(0)
    ids, words, counts = corpus_words()
    print(f"{len(ids):,} tokens, {len(words):,} words")
    model = train_skipgram(ids, counts, args.steps, args.dim, args.window, args.negatives, args.device)
    vectors = model.center.weight.numpy()
    for query in QUERIES:
        print(f"{query:>8}: {', '.join(nearest(vectors, words, query))}")
    if args.save:
        try:
            plot_embeddings(vectors[:args.words], words[:args.words], args.save,
                            title=f"word2vec, the {args.words} most frequent words")
            print(f"wrote {args.save}")
        except MissingDependency as e:
            print(f"no picture: {e}")


if __name__ == "__main__":
    sys.exit(run_script(main))
