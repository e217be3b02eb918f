"""Seq2SeqTransformer: the encoder-decoder Transformer of "Attention Is All You Need".

    src (B, S) -> embed * sqrt(C) + sinusoidal positions -> encoder -> memory (B, S, C)
    tgt_in (B, T) -> embed * sqrt(C) + positions -> decoder(causal self-attention,
                     cross-attention to memory) -> linear -> logits (B, T, V_tgt)

Training uses teacher forcing: the decoder reads the true target shifted right
(tgt_in = [BOS, y_1, ..., y_{T-1}]) and predicts every position at once.
Padding positions (pad_id) are masked out of attention and out of the loss.

Decoding produces one token at a time: greedy takes the most likely token;
beam search keeps the beam_size best partial sequences by total log-probability,
and picks the final one by log-probability / ((5 + length) / 6)^length_penalty
(Wu et al., 2016), so that longer answers are not penalised just for being longer.
"""
import math

import numpy as np

from .. import functional as F
from ..nn import (Embedding, LayerNorm, Linear, Module, PositionalEncoding, TransformerDecoder,
                  TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer)
from ..tensor import Tensor
from .sampling import inference


class Seq2SeqTransformer(Module):
    def __init__(self, src_vocab_size, tgt_vocab_size, d_model=128, nhead=4, num_encoder_layers=2,
                 num_decoder_layers=2, dim_feedforward=512, dropout=0.1, max_len=256, pad_id=0):
        super().__init__()
        self.d_model, self.pad_id = d_model, pad_id
        self.src_embed = Embedding(src_vocab_size, d_model)
        self.tgt_embed = Embedding(tgt_vocab_size, d_model)
        self.positional = PositionalEncoding(d_model, max_len, dropout)
        enc = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True)
        dec = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True)
        self.encoder = TransformerEncoder(enc, num_encoder_layers, norm=LayerNorm(d_model))
        self.decoder = TransformerDecoder(dec, num_decoder_layers, norm=LayerNorm(d_model))
        self.generator = Linear(d_model, tgt_vocab_size)

    def _ids(self, ids):
        return ids if isinstance(ids, Tensor) else Tensor(np.asarray(ids, dtype=np.int64), device=self.device)

    def encode(self, src):
        src = self._ids(src)
        src_pad = src.data == self.pad_id                                # (B, S)
        x = self.positional(self.src_embed(src) * math.sqrt(self.d_model))
        return self.encoder(x, src_key_padding_mask=src_pad), src_pad  # (B, S, C)

    def decode(self, tgt_in, memory, src_pad):
        tgt_in = self._ids(tgt_in)
        y = self.positional(self.tgt_embed(tgt_in) * math.sqrt(self.d_model))
        y = self.decoder(y, memory, tgt_key_padding_mask=tgt_in.data == self.pad_id,
                         memory_key_padding_mask=src_pad, tgt_is_causal=True)
        return self.generator(y)                                         # (B, T, V)

    def forward(self, src, tgt_in, targets=None):
        """Logits (B, T, V) with teacher forcing; with targets (B, T), also the mean loss over non-pad."""
        memory, src_pad = self.encode(src)
        logits = self.decode(tgt_in, memory, src_pad)
        if targets is None:
            return logits, None
        targets = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
        B, T, V = logits.shape
        loss = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(-1), ignore_index=self.pad_id)
        return logits, loss

    def greedy_decode(self, src, max_len, bos_id, eos_id):
        """For each source row, the most likely token at every step until EOS: a list of id lists."""
        with inference(self):
            memory, src_pad = self.encode(src)
            B = memory.shape[0]
            out = np.full((B, 1), bos_id, dtype=np.int64)
            done = np.zeros(B, dtype=bool)
            for _ in range(max_len):
                logits = self.decode(out, memory, src_pad).numpy()[:, -1]    # (B, V)
                next_ids = np.where(done, self.pad_id, logits.argmax(-1))
                out = np.concatenate([out, next_ids[:, None]], axis=1)
                done |= next_ids == eos_id
                if done.all():
                    break
        return [_until_eos(row[1:], eos_id) for row in out]

    def beam_search(self, src, max_len, bos_id, eos_id, beam_size=4, length_penalty=0.6):
        """For each source row, the best sequence among beam_size hypotheses kept at every step."""
        src = np.asarray(src.numpy() if isinstance(src, Tensor) else src)
        with inference(self):
            return [self._beam_one(src[b:b + 1], max_len, bos_id, eos_id, beam_size, length_penalty)
                    for b in range(len(src))]

    def _beam_one(self, src, max_len, bos_id, eos_id, beam_size, alpha):
        memory, src_pad = self.encode(src)
        beams = [([bos_id], 0.0)]                                        # (tokens, log-probability)
        finished = []
        for _ in range(max_len):
            tokens = np.array([b[0] for b in beams], dtype=np.int64)     # (k, t)
            k = len(beams)
            mem = Tensor(np.repeat(memory.numpy(), k, axis=0), device=memory.device)
            logits = self.decode(tokens, mem, np.repeat(src_pad, k, axis=0)).numpy()[:, -1]
            logp = logits - logits.max(-1, keepdims=True)
            logp -= np.log(np.exp(logp).sum(-1, keepdims=True))         # (k, V)
            candidates = [(beams[i][1] + logp[i, v], i, v) for i in range(k)
                          for v in np.argsort(-logp[i])[:beam_size]]
            candidates.sort(key=lambda c: -c[0])
            beams = []
            for score, i, v in candidates:
                seq = (list(tokens[i]) + [int(v)], score)
                if v == eos_id:
                    finished.append(seq)
                else:
                    beams.append(seq)
                if len(beams) == beam_size:
                    break
            if len(finished) >= beam_size or not beams:
                break
        pool = finished or beams
        best = max(pool, key=lambda s: s[1] / ((5 + len(s[0]) - 1) / 6) ** alpha)
        return _until_eos(best[0][1:], eos_id)


def _until_eos(ids, eos_id):
    ids = [int(i) for i in ids]
    return ids[:ids.index(eos_id)] if eos_id in ids else ids
