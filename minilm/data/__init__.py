"""minilm.data: raw text -> cleaned text -> token files -> batches."""
from .collate import collate_encoder, collate_labeled, collate_pairs, pad_sequences
from .masking import mask_tokens
from .dataset import StreamBatcher, TokenDataset
from .prepare import load_meta, prepare, token_dtype
from .split import train_val_test_split
from .tasks import shuffled_lines, speaker_lines, typo_lines
from .text import STOPWORDS, clean_text, load_corpus, load_labeled

__all__ = ["load_corpus", "clean_text", "load_labeled", "STOPWORDS", "train_val_test_split",
           "prepare", "load_meta", "token_dtype", "TokenDataset", "StreamBatcher",
           "collate_pairs", "collate_labeled", "collate_encoder", "pad_sequences", "mask_tokens",
           "typo_lines", "shuffled_lines", "speaker_lines"]
