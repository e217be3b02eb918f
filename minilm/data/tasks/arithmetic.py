"""Arithmetic: addition and subtraction of numbers up to three digits, and multiplication with the calculator.

    add2   What is 47+86?    7+6+0=13 4+8+1=13: 133                   two 2-digit numbers
    add3   What is 457+36?   7+6+0=13 5+3+1=9 4+0+0=4: 493            up to three digits each
    sub3   What is 457-386?  7-6-0=1 5-8-0=7 4-3-1=0: 71              up to three digits, the larger first
    mul2   What is 47*86?    <|call|>47*86<|/call|><|output|>4042<|/output|>4042
    mul2x  (system: Answer without the calculator.)  What is 47*86?   4042   the same, in its head

Addition and subtraction are answered the way a pupil works them in columns, from
the units up, one column a step; the answer follows the last ':'. Written left to
right in one go, the first digit of a sum depends on a carry that the digits
further right decide, which a small model must compute before it writes anything:
at the default run's size, 4,000 SFT steps on bare answers left 2-digit addition at
0% right. Worked in columns, every character it writes depends on a few characters
it can see: a column is

    x+y+c=s       x, y the column's digits (0 where a number has none), c the carry in (0 or 1)
    x-y-b=d       b the borrow in; d = x - y - b, plus 10 when that is negative (then the
                  next column's b is 1)

always the same width up to its '=', so the three digits a sum needs sit at the same
distances before it in every column (rotary attention finds a fixed offset easily),
and the answer reads the columns' results back from the last, without leading zeros.
Multiplication is where columns stop helping (every digit of a product depends on all
the digits of both factors), which is what the tool is for: mul2 teaches the model to
call the calculator and copy the result, and mul2x measures how it does without (the
issue's "report it without the tool").
The key of an item is its operation and operands.
"""
from .task import NO_TOOL_SYSTEM, ChatTask, Item

OPERATIONS = {"add2": "+", "add3": "+", "sub3": "-", "mul2": "*", "mul2x": "*"}


def digits_up(n, width):
    """The digits of n from the units up, padded with zeros to width: digits_up(47, 3) = [7, 4, 0]."""
    return [n // 10 ** i % 10 for i in range(width)]


def worked_sum(a, b):
    """'7+6+0=13 4+8+1=13: 133' for 47+86: each column's digits, the carry in, and their sum."""
    columns, carry = [], 0
    for x, y in zip(*(digits_up(n, len(str(max(a, b)))) for n in (a, b))):
        columns.append(f"{x}+{y}+{carry}={x + y + carry}")
        carry = (x + y + carry) // 10
    return f"{' '.join(columns)}: {a + b}"


def worked_difference(a, b):
    """'7-6-0=1 5-8-0=7 4-3-1=0: 71' for 457-386 (a >= b): each column's digits, the borrow in, and the
    column's digit of the difference (plus 10 when x - y - borrow is negative: the next column borrows 1)."""
    columns, borrow = [], 0
    for x, y in zip(digits_up(a, len(str(a))), digits_up(b, len(str(a)))):
        columns.append(f"{x}-{y}-{borrow}={(x - y - borrow) % 10}")
        borrow = int(x - y - borrow < 0)
    return f"{' '.join(columns)}: {a - b}"


class Arithmetic(ChatTask):
    name = "arithmetic"
    kinds = ("add2", "add3", "sub3", "mul2", "mul2x")
    uses_tool = True

    def draw(self, kind, rng):
        if kind in ("add2", "mul2", "mul2x"):
            a, b = (int(x) for x in rng.integers(10, 100, size=2))
        else:
            a, b = (int(x) for x in rng.integers(0, 1000, size=2))
            if kind == "sub3" and b > a:
                a, b = b, a
        symbol = OPERATIONS[kind]
        answer = str({"+": a + b, "-": a - b, "*": a * b}[symbol])
        reply = {"+": worked_sum, "-": worked_difference}.get(symbol, lambda a, b: answer)(a, b)
        item = Item(kind, f"What is {a}{symbol}{b}?", reply, answer)
        if kind == "mul2":
            item.call, item.call_output = f"{a}*{b}", answer
        if kind == "mul2x":
            item.system = NO_TOOL_SYSTEM
        return f"{a}{symbol}{b}", item                   # (mul2 and mul2x share their keys: one split)

    def final_answer(self, reply_text):
        """What follows the last ':' of a worked answer (the whole reply when it has none)."""
        return reply_text.rsplit(":", 1)[-1].strip()

    def alphabet(self):
        return "".join(sorted(set("0123456789+-*=:?What is " + NO_TOOL_SYSTEM)))
