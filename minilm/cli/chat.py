"""`minilm chat`: a conversation in the terminal with a fine-tuned model (or a Hugging Face chat model).

    minilm chat --out out-sft                       type a message, Enter; the reply streams as it is decoded
    minilm chat --out out-sft --system "Answer without the calculator."
    minilm chat --out out-sft --prompt "What is 12*34?"          one reply on stdout, for scripts
    minilm chat --pretrained hf-folder                           a folder with a chat template

In the conversation:  /clear  forget the history   /temperature 0.7  sample (0: greedy, the default)
                      /quit or Ctrl-D  leave        /help  these lines

The history is rendered in the chat format for every reply. When it no longer fits the
model's context (keeping a quarter of it for the reply), the oldest turns are dropped
(said once); the system prompt stays. Calculator calls are run (--no-tools: not).
"""
import sys

from ..chat.reply import generate_reply, prompt_ids
from ..tokenizers.chat_format import has_chat_tokens
from ..train.config import Range, at_least
from ..train.trained import load_pretrained, load_trained
from .parser import CommandParser, checked

HELP = ("/clear forgets the conversation, /temperature T sets the sampling temperature (0: greedy), "
        "/quit (or Ctrl-D) leaves")


def load_chat_model(out, pretrained, device):
    """(model, tokenizer) of a run folder or a Hugging Face folder; refused unless it has a chat format."""
    if pretrained:
        model, tokenizer, _ = load_pretrained(pretrained, device or "cpu")
        where = pretrained
    else:
        model, tokenizer, _, _ = load_trained(out, device=device)
        where = out
    if not has_chat_tokens(tokenizer) and getattr(tokenizer, "chat_template", None) is None:
        raise ValueError(f"{where} has no chat format (neither minilm's chat tokens nor a chat template): it is a "
                         f"base model; fine-tune it on conversations first: minilm sft --init-from {where} "
                         "--task arithmetic --out_dir out-sft")
    if not hasattr(model, "new_caches"):
        raise ValueError(f"{where} holds a {type(model).__name__}; chatting needs a GPT")
    return model, tokenizer


class Chat:
    """The conversation so far and the settings of the next reply."""

    def __init__(self, model, tokenizer, args):
        self.model, self.tokenizer, self.args = model, tokenizer, args
        self.system = [{"role": "system", "content": args.system}] if args.system else []
        self.history, self.temperature, self.told_about_trimming = [], args.temperature, False

    def reply(self, text, out):
        """Stream the reply to text onto out; the turn joins the history."""
        self.history.append({"role": "user", "content": text})
        try:
            self.trim()
            reply = generate_reply(self.model, self.tokenizer, self.system + self.history, self.args.max_new_tokens,
                                   self.temperature, self.args.top_k, None, self.args.seed, self.args.tools,
                                   on_text=lambda piece: (out.write(piece), out.flush()))
        except ValueError:
            self.history.pop()                       # (a message the vocabulary cannot encode: not kept)
            raise
        out.write("\n")
        out.flush()
        self.history += reply.messages

    def trim(self):
        """Drop the oldest turns until the prompt leaves a quarter of the context for the reply."""
        limit = self.model.config.block_size * 3 // 4
        while len(prompt_ids(self.tokenizer, self.system + self.history)) > limit:
            later_users = [i for i, m in enumerate(self.history) if m["role"] == "user" and i > 0]
            if not later_users:
                raise ValueError(f"this message alone is longer than {limit} tokens, three quarters of the "
                                 f"model's context ({self.model.config.block_size}); write a shorter one")
            self.history = self.history[later_users[0]:]
            if not self.told_about_trimming:
                print(f"(the conversation outgrew the model's context of {self.model.config.block_size} tokens: "
                      "the oldest turns are dropped from now on)", file=sys.stderr)
                self.told_about_trimming = True

    def command(self, line):
        """Handle a /command; returns False to leave."""
        name, _, value = line.partition(" ")
        if name == "/quit":
            return False
        if name == "/clear":
            self.history = []
            print("(conversation cleared)")
        elif name == "/temperature" and _is_temperature(value):
            self.temperature = float(value)
            print(f"(temperature {self.temperature:g})")
        elif name == "/temperature":
            print(f"(/temperature needs a number >= 0, e.g. /temperature 0.7; got {value.strip()!r})")
        else:
            print(f"(unknown command {name}; {HELP})")
        return True


def _is_temperature(text):
    try:
        return float(text) >= 0
    except ValueError:
        return False


def chat(argv):
    p = CommandParser(prog="minilm chat", description="Talk to a fine-tuned model.")
    p.add_argument("--out", default="out-sft", help="a run folder made by minilm sft")
    p.add_argument("--pretrained", default=None, help="a Hugging Face folder with a chat template, instead of --out")
    p.add_argument("--system", default="", help="a system message opening the conversation")
    p.add_argument("--prompt", default=None, help="answer this one message on stdout and exit")
    p.add_argument("--temperature", type=checked(float, at_least(0)), default=0.0, help="0: greedy")
    p.add_argument("--top-k", type=checked(int, at_least(1)), default=None)
    p.add_argument("--max-new-tokens", type=checked(int, Range(1, 100_000)), default=200)
    p.add_argument("--seed", type=checked(int, at_least(0)), default=None)
    p.add_argument("--no-tools", dest="tools", action="store_false", help="do not run calculator calls")
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)
    model, tokenizer = load_chat_model(args.out, args.pretrained, args.device)
    session = Chat(model, tokenizer, args)
    if args.prompt is not None:
        session.reply(args.prompt, sys.stdout)
        return 0
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"chatting with {args.pretrained or args.out} ({HELP})")
    while True:
        try:
            line = input("> " if interactive else "")
        except EOFError:                             # Ctrl-D, or the end of piped input
            if interactive:
                print()
            return 0
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            if not session.command(line):
                return 0
            continue
        try:
            session.reply(line, sys.stdout)
        except ValueError as error:                  # e.g. a character the model's vocabulary lacks
            print(f"({error})")
