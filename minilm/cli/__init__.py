"""The `minilm` command (also `python -m minilm`).

    minilm train [--preset NAME] [--config FILE.json] [--key value ...]
    minilm sample --out out/ --prompt "ROMEO:" --max-new-tokens 500 --temperature 0.8 --top-k 200 --top-p 0.95 --seed 1
    minilm eval --out out/ --split test             loss, perplexity, accuracy, bits per byte
    minilm export --out out/ --to hf-folder/        a GPT as a Hugging Face folder (transformers loads it)
    minilm prepare --input text.txt --out data/ [--tokenizer char|bpe] [--vocab-size 512]
    minilm plot out/
    minilm prepare-chat --task arithmetic --out chats.jsonl   a bundled task's conversations, as JSONL
    minilm sft --init-from out/ --data chats.jsonl --out_dir out-sft    fine-tune on conversations (or --task NAME)
    minilm eval --out out-sft/ --task arithmetic               exact-match accuracy on the held-out items
    minilm rl --init-from out-sft/ --task arithmetic --out_dir out-rl   reinforcement learning (GRPO) on its rewards
    minilm chat --out out-sft/ [--system TEXT] [--prompt TEXT] a conversation in the terminal
    minilm serve --out out-sft/ [--port 8000] [--api-key KEY]   the OpenAI API and a chat page (serve extra)
    minilm doctor [--json]         versions, and a check of every device (what to run when something is wrong)
    minilm viz attention|embeddings|graph --out out/ --save picture.png
    minilm course [build | check N]  the course (course/): lessons, notebooks, exercise checks

`minilm train` with no arguments trains a character-level GPT on the bundled
Shakespeare with the speedrun recipe (the shakespeare-speedrun preset: Muon,
QK-norm, Llama's blocks, 3 layers, 800 steps: about a minute on 2 cores),
checkpoints to out/, and ends by printing a sample;
`--preset shakespeare-char` trains the classic GPT-2 recipe (nanoGPT's, AdamW). Any TrainConfig field can be set: --n_layer 6 (or --n-layer 6).
Every command takes --device cuda (train: `--device cuda`, like any field).

    minilm train --preset shakespeare-lstm --out_dir out-lstm
    minilm train --out_dir out --resume --max_iters 4000       continue a run exactly
    minilm train --out_dir out --overwrite                     start over (a trained out/ is refused otherwise)

Ctrl-C saves a checkpoint of the current step first. A user's error is one
line on stderr and exit status 2 (1 for a failed write or a diverged run);
see minilm/errors.py.

Fine-tuning starts from a trained checkpoint (its architecture and tokenizer)
and trains on other text: only one speaker's speeches of the corpus, or any
text file (tokenized with the checkpoint's tokenizer):

    minilm train --init-from out --speaker ROMEO --out_dir out-romeo --max_iters 300 --learning_rate 3e-4
    minilm train --init-from out --data my_text.txt --out_dir out-mine
    minilm sample --out out-romeo --prompt "ROMEO:"

A Hugging Face folder of a GPT-2, Llama or Qwen3 model (config.json, model.safetensors,
tokenizer.json) can be sampled from and fine-tuned; the run folder it makes
exports back with `minilm export`:

    minilm sample --pretrained path/to/hf-folder --prompt "Once upon a time"
    minilm train --init-from path/to/hf-folder --data my.txt --out_dir out-ft
"""
import importlib
import os
import signal
import sys

from ..errors import user_message

# command: (its module in minilm/cli/, the function that runs it). A module is imported only when its
# command runs: each command loads the code it needs, and `minilm --help` none of it.
COMMANDS = {"train": ("train", "train"), "sample": ("sample", "sample"), "eval": ("eval", "evaluate"),
            "export": ("export", "export"), "prepare": ("data", "prepare"), "plot": ("viz", "plot"),
            "viz": ("viz", "viz"), "doctor": ("doctor", "doctor"), "sft": ("sft", "sft"), "chat": ("chat", "chat"),
            "prepare-chat": ("prepare_chat", "prepare_chat"), "rl": ("rl", "rl"), "serve": ("serve", "serve"),
            "course": ("course", "course")}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        return run_command("help", show_help, argv)
    return run_command(argv[0], run_named, argv)


def run_named(argv):
    """Run the command argv[0] on the rest; its module is imported here, inside run_command, so that
    a Ctrl-C while it loads is reported like one during the work."""
    module, function = COMMANDS[argv[0]]
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)(argv[1:])


def show_help(argv):
    print(__doc__)
    if argv and argv[0] not in ("-h", "--help"):
        print(f"unknown command {argv[0]!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    return 0


def run_command(name, command, argv, prog=None):
    """Run one command; a user's error becomes `minilm NAME: message` (or `prog: message`) on stderr
    and its exit status (minilm/errors.py); a bug keeps its traceback."""
    try:
        return command(argv)
    except BrokenPipeError:                        # `minilm sample | head`: the reader has gone, say nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except (Exception, KeyboardInterrupt) as error:
        reported = user_message(error)
        if reported is None:
            raise
        message, code = reported
        print(f"{prog or 'minilm ' + name}: {message}", file=sys.stderr)
        return code


def run_script(main):
    """The examples' entry point: `sys.exit(run_script(main))` runs main(argv) and answers a user's error
    (a bad flag, a refused run folder, a missing GPU) as the `minilm` commands do: one line, exit 2."""
    prog = os.path.basename(sys.argv[0])
    return run_command(prog, lambda argv: main(argv) or 0, sys.argv[1:], prog=prog)
