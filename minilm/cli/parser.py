"""argparse for the `minilm` commands: a wrong argument is one line, like every other user error.

    p = CommandParser(prog="minilm sample")
    p.add_argument("--top-p", type=checked(float, Range(0, 1, low_open=True)))   # TrainConfig's rules
"""
import argparse

from ..errors import UserError
from ..train.config import TYPE_NAMES


class CommandParser(argparse.ArgumentParser):
    """argparse, whose errors are one line (`minilm sample: argument --top-p: must be in (0, 1], got 2`)."""

    def error(self, message):
        raise UserError(f"{message} (see {self.prog} --help)")


def checked(kind, rule):
    """An argparse `type`: the string as `kind`, refused unless `rule` allows it (e.g. checked(int, at_least(1)))."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expects {TYPE_NAMES[kind]}, got {text!r}") from None
        if not rule.allows(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value
    return parse
