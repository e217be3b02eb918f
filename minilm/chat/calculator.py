"""The calculator tool: arithmetic a model writes, evaluated safely; a result or an error string, never an exception.

The model writes an expression between <|call|> and <|/call|> (chat_format.py);
this file computes it. The text comes from a model (or from whoever wrote the
prompt), so it is never given to Python's eval: it is parsed with `ast` and only
this whitelist is walked:

    numbers         integers and decimals (not True/False, not complex, not strings)
    + - * / // % ** on two operands, unary + and -, parentheses

Anything else (a name, a call, an attribute, a subscript, a lambda, a comparison)
is refused. Limits keep every answer cheap: at most MAX_LENGTH characters (which
also bounds the nesting), integers below 10**MAX_DIGITS in size, an exponent of
at most MAX_EXPONENT, and a power whose result would exceed MAX_DIGITS digits
refused before it is computed (2 ** 10**9 would take minutes and gigabytes).

    >>> calculate("12*34")            '408'
    >>> calculate("7/2")              '3.5'
    >>> calculate("9**99")            'error: 9**99 has more than 30 digits'
    >>> calculate("__import__('os')") 'error: names are not allowed ...'
"""
import ast
import math
import operator

MAX_LENGTH = 200
MAX_DIGITS = 30
MAX_EXPONENT = 100
BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**"}


class CalculatorError(ValueError):
    """The expression is not allowed or has no value; the message says why."""


def calculate(expression):
    """The value of an arithmetic expression as text, or "error: why" (never raises)."""
    try:
        return format_number(evaluate(expression))
    except CalculatorError as error:
        return f"error: {error}"


def evaluate(expression):
    """The value (int or float) of expression; CalculatorError if it is not allowed arithmetic."""
    if not isinstance(expression, str):
        raise CalculatorError(f"expected an expression as text, got {type(expression).__name__}")
    if len(expression) > MAX_LENGTH:
        raise CalculatorError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise CalculatorError(f"not an arithmetic expression: {expression!r}") from None
    return _value(tree.body)


def _value(node):
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):          # (bool is an int subclass: refused too)
            raise CalculatorError(f"only numbers are allowed, got {node.value!r}")
        return _checked(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        try:
            return _checked(BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise CalculatorError("division by zero") from None
        except OverflowError:
            raise CalculatorError(f"the result of {SYMBOLS[type(node.op)]} is too large") from None
    raise CalculatorError(f"{_describe(node)} are not allowed: only numbers, + - * / // % ** and parentheses")


def _check_power(base, exponent):
    """Refuse a power before computing it when it would be too large (or complex)."""
    if abs(exponent) > MAX_EXPONENT:
        raise CalculatorError(f"the exponent {exponent} is larger than {MAX_EXPONENT}")
    if base < 0 and exponent != int(exponent):
        raise CalculatorError("a negative number to a fractional power is not a real number")
    if base == 0 and exponent < 0:
        raise CalculatorError("division by zero")
    if exponent > 0 and abs(base) > 1 and exponent * math.log10(abs(base)) > MAX_DIGITS:
        raise CalculatorError(f"{format_number(base)}**{format_number(exponent)} has more than {MAX_DIGITS} digits")


def _checked(value):
    if isinstance(value, int) and abs(value) >= 10 ** MAX_DIGITS:
        raise CalculatorError(f"a number has more than {MAX_DIGITS} digits")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError("the result is not a finite number")
    return value


def _describe(node):
    names = {ast.Name: "names", ast.Call: "function calls", ast.Attribute: "attributes", ast.Lambda: "lambdas",
             ast.Subscript: "subscripts", ast.Compare: "comparisons", ast.BoolOp: "and/or"}
    return names.get(type(node), f"{type(node).__name__} expressions")


def format_number(value):
    """An int as it is; a float with up to 12 significant digits, without a trailing .0 if whole."""
    if isinstance(value, int):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.12g}"
