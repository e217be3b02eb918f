"""BERT: a Transformer encoder pre-trained by filling in masked tokens (Devlin et al., 2018).

Token ids (B, T) -> masked-LM logits (B, T, V), every position reading every other:

    x = LN(word[ids] + position[0..T-1] + token_type[segment])      three embeddings summed
    for each layer (post-LN, as in the paper):
        x = LN1(x + SA(x))                                          self-attention, no causal mask
        x = LN2(x + W2 gelu(W1 x))                                  feed-forward, I = 4C
    logits = LN(gelu(dense(x))) @ word^T + bias                     the MLM head, tied to `word`

Pre-training hides ~15 % of the tokens (minilm.data.mask_tokens) and asks the
model for the originals: labels hold the true id at those positions and -100
everywhere else, so the loss counts only them. A padding `attention_mask`
(B, T) has 1 for a real token and 0 for padding, as in `transformers`; keys
at padding positions are blocked for every query (padded queries still get
outputs, which nothing should read).

Fine-tuning: BERTClassifier puts a head on the [CLS] position (the first
token): pooled = tanh(dense(x[:, 0])), class logits = classifier(pooled).
Its body has the same modules and names as BERT's (bert.*), so a pre-trained
body loads into it unchanged; the pooler and classifier start from scratch.

The encoder layers are nn.TransformerEncoderLayer with norm_first=False, so
their parameters have PyTorch's names; BERT.from_pretrained / save_pretrained
read and write Hugging Face BertForMaskedLM folders (the name mapping is in
models/bert_hf.py). Shapes: B batch, T time, C = n_embd, V vocab, K classes.
"""
import numpy as np

from .. import functional as F
from ..nn import (Dropout, Embedding, LayerNorm, Linear, Module, Parameter, TransformerEncoder,
                  TransformerEncoderLayer, init)
from ..tensor import Tensor
from .bert_config import BERTConfig  # noqa: F401  (minilm.models.bert.BERTConfig)
from .bert_hf import read_pretrained, save_pretrained


def _raw(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


class BERTEmbeddings(Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = Embedding(config.vocab_size, config.n_embd)
        self.position_embeddings = Embedding(config.block_size, config.n_embd)
        self.token_type_embeddings = Embedding(config.type_vocab_size, config.n_embd)
        self.norm = LayerNorm(config.n_embd, eps=config.norm_eps)
        self.dropout = Dropout(config.dropout)

    def forward(self, input_ids, token_type_ids):
        T = input_ids.shape[1]
        positions = Tensor(np.arange(T), device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)   # (B, T, C)
        x = x + self.token_type_embeddings(token_type_ids)                          # (B, T, C)
        return self.dropout(self.norm(x))


class BERTBody(Module):
    """Embeddings and the encoder stack: ids -> hidden states (B, T, C), shared by both heads."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = BERTEmbeddings(config)
        layer = TransformerEncoderLayer(config.n_embd, config.n_head, config.intermediate_size, config.dropout,
                                        activation="gelu", layer_norm_eps=config.norm_eps, norm_first=False)
        self.encoder = TransformerEncoder(layer, config.n_layer)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        ids = input_ids if isinstance(input_ids, Tensor) else Tensor(np.asarray(input_ids))
        if ids.ndim != 2:
            raise ValueError(f"BERT expects token ids of shape (B, T), got {ids.shape}")
        B, T = ids.shape
        if T > self.config.block_size:
            raise ValueError(f"cannot encode a sequence of length T={T}: block_size is {self.config.block_size}; "
                             "cut the input to block_size tokens")
        segments = np.zeros((B, T), np.int64) if token_type_ids is None else _raw(token_type_ids)
        x = self.embeddings(ids, Tensor(segments, device=ids.device))             # (B, T, C)
        return self.encoder(x, src_key_padding_mask=padding_mask(attention_mask, (B, T)))


def padding_mask(attention_mask, shape):
    """transformers' attention_mask (1 = token, 0 = padding) -> key_padding_mask (True = padding), or None."""
    if attention_mask is None:
        return None
    mask = _raw(attention_mask)
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"attention_mask must have the shape of input_ids {tuple(shape)}, got {tuple(mask.shape)}")
    padding = mask == 0
    # a row of padding only (an empty text) would mask every key: softmax over nothing is NaN, which
    # reaches the loss and every gradient. It attends to its padding instead (finite, as in transformers).
    padding[padding.all(axis=1)] = False
    return padding


class MaskedLMHead(Module):
    """LN(gelu(dense(x))) @ word_embeddings^T + bias: the decoder matrix is the input embedding."""

    def __init__(self, config):
        super().__init__()
        self.transform = Linear(config.n_embd, config.n_embd)
        self.norm = LayerNorm(config.n_embd, eps=config.norm_eps)
        self.bias = Parameter(np.zeros(config.vocab_size, np.float32))

    def forward(self, x, word_embeddings):
        h = self.norm(F.gelu(self.transform(x)))                          # (B, T, C)
        return F.linear(h, word_embeddings, self.bias)                    # (B, T, V)


class BERT(Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.bert = BERTBody(config)
        self.mlm_head = MaskedLMHead(config)
        bert_init(self)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        """Masked-LM logits (B, T, V); given labels (B, T) (-100 = not predicted), (logits, loss)."""
        h = self.bert(input_ids, attention_mask, token_type_ids)          # (B, T, C)
        logits = self.mlm_head(h, self.bert.embeddings.word_embeddings.weight)   # (B, T, V)
        if labels is None:
            return logits
        B, T, V = logits.shape
        if tuple(_raw(labels).shape) != (B, T):
            raise ValueError(f"labels must have the shape of input_ids {(B, T)}, got {tuple(_raw(labels).shape)}; "
                             "use -100 where nothing is predicted")
        loss = F.cross_entropy(logits.view(B * T, V), _raw(labels).reshape(B * T), ignore_index=-100)
        return logits, loss

    @classmethod
    def from_pretrained(cls, folder):
        """A BERT in eval mode from a Hugging Face folder of a BertForMaskedLM (models/bert_hf.py)."""
        config, state = read_pretrained(folder)
        model = cls(config)
        model.load_state_dict(state)
        return model.eval()

    def save_pretrained(self, folder, overwrite=False):
        """Write a Hugging Face folder (config.json, model.safetensors) that transformers loads."""
        save_pretrained(self, folder, overwrite)


class BERTClassifier(Module):
    """A BERT body with a classification head on the [CLS] position: logits (B, K)."""

    def __init__(self, config, num_classes):
        super().__init__()
        self.config = config
        self.bert = BERTBody(config)
        self.pooler = Linear(config.n_embd, config.n_embd)
        self.dropout = Dropout(config.dropout)
        self.classifier = Linear(config.n_embd, num_classes)
        bert_init(self)

    @classmethod
    def from_pretrained_bert(cls, bert, num_classes):
        """A classifier whose body is a copy of a (pre-trained) BERT's; the head starts from scratch."""
        model = cls(bert.config, num_classes)
        body = {k: v for k, v in bert.state_dict().items() if k.startswith("bert.")}
        head = {k: v for k, v in model.state_dict().items() if not k.startswith("bert.")}
        model.load_state_dict({**body, **head})
        return model.to(bert.device)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        """Class logits (B, K); given labels (B,), (logits, mean cross-entropy)."""
        h = self.bert(input_ids, attention_mask, token_type_ids)          # (B, T, C)
        pooled = F.tanh(self.pooler(h[:, 0]))                             # (B, C): the [CLS] state
        logits = self.classifier(self.dropout(pooled))                    # (B, K)
        if labels is None:
            return logits
        return logits, F.cross_entropy(logits, _raw(labels))


def bert_init(model):
    """BERT's initialisation: matrices and embeddings N(0, 0.02), biases 0, LayerNorm gains 1;
    but the attention's q, k, v projection keeps nn.MultiheadAttention's Xavier init.

    Why the exception: at std 0.02 every q.k starts near 0, attention is uniform, and
    the gradient of W_q is proportional to the tiny W_k (and back): a small model sits
    on a plateau at the unigram loss for hundreds of steps. Measured on the bundled
    corpus (2 layers, C = 64, 600 steps of 32 windows): masked-character val loss
    3.00 with q, k, v at 0.02, 2.67 with Xavier (std 0.09), 2.87 with everything at 0.1.
    """
    for name, p in model.named_parameters():
        if name.endswith("in_proj_weight"):
            continue
        if p.ndim >= 2:
            init.normal_(p, 0.0, 0.02)
        elif name.endswith("bias"):
            init.zeros_(p)
