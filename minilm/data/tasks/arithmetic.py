"""Arithmetic: addition and subtraction of numbers up to three digits, and multiplication with the calculator.

    add2   What is 47+86?    7+6=13 4+8+1=13: 133                     two 2-digit numbers
    add3   What is 457+36?   7+6=13 5+3+1=9 4+0=4: 493                up to three digits each
    sub3   What is 457-386?  7-6=1 15-8=7 4-3-1=0: 71                 up to three digits, the larger first
    mul2   What is 47*86?    <|call|>47*86<|/call|><|output|>4042<|/output|>4042
    mul2x  (system: Answer without the calculator.)  What is 47*86?   4042   the same, in its head

Addition and subtraction are answered the way a pupil works them in columns, from
the units up, one column a step; the answer follows the last ':'. Written left to
right in one go, the first digit of a sum depends on a carry that the digits
further right decide, which a small model must compute before it writes anything:
at the default run's size, 4,000 SFT steps on bare answers (`4+8+1` never written)
left 2-digit addition at 0% right. Worked in columns, every character it writes
depends on a few characters it can see: the two digits of the column (a missing
digit is 0), the carry or borrow just written before them, and, for the answer, the
results of the columns read back from the last. In a column

    a+b+1=s       the +1 is the carry from the column before (shown only when there is one)
    1a-b-1=d      the leading 1 is a borrow (a < b + the borrow in), the -1 the borrow in

and the answer has no leading zeros. Multiplication is where columns stop helping (every
digit of a product depends on all the digits of both factors), which is what the
tool is for: mul2 teaches the model to call the calculator and copy the result, and
mul2x measures how it does without (the issue's "report it without the tool").
The key of an item is its operation and operands.
"""
from .task import NO_TOOL_SYSTEM, ChatTask, Item

OPERATIONS = {"add2": "+", "add3": "+", "sub3": "-", "mul2": "*", "mul2x": "*"}


def digits_up(n, width):
    """The digits of n from the units up, padded with zeros to width: digits_up(47, 3) = [7, 4, 0]."""
    return [n // 10 ** i % 10 for i in range(width)]


def worked_sum(a, b):
    """'7+6=13 4+8+1=13: 133' for 47+86: each column's digits, the carry in, and their sum."""
    columns, carry = [], 0
    for x, y in zip(*(digits_up(n, len(str(max(a, b)))) for n in (a, b))):
        total = x + y + carry
        columns.append(f"{x}+{y}{'+1' if carry else ''}={total}")
        carry = total // 10
    return f"{' '.join(columns)}: {a + b}"


def worked_difference(a, b):
    """'7-6=1 15-8=7 4-3-1=0: 71' for 457-386 (a >= b): each column, borrowing 10 when the top digit is short."""
    columns, borrow = [], 0
    for x, y in zip(digits_up(a, len(str(a))), digits_up(b, len(str(a)))):
        takes = x < y + borrow
        columns.append(f"{'1' if takes else ''}{x}-{y}{'-1' if borrow else ''}={x + 10 * takes - y - borrow}")
        borrow = int(takes)
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
