"""Excel cell references and formulas without a saved result.

A formula whose result was saved is read as that result; one without (written by a program other
than Excel) is worked out when it is plain arithmetic (numbers, ``+ - * /``, brackets, cells of the
same sheet), safely (parsed with :mod:`ast`, never ``eval``); anything else is a located error.
"""
from __future__ import annotations

import ast
import re
from typing import Any, Callable

from .errors import Problem
from .parsing import is_blank, parse_number


def column_letter(index: int) -> str:
    """1 -> ``A``, 27 -> ``AA``."""
    out = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def column_index(letters: str) -> int:
    """``A`` -> 1, ``AA`` -> 27."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


class FormulaError(ValueError):
    """A formula riskmodel does not work out (anything but arithmetic on numbers and cells)."""


_REF = re.compile(r"(?<![A-Za-z0-9_.])\$?([A-Za-z]{1,3})\$?([0-9]{1,7})(?![A-Za-z0-9_(])")
_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b}


def evaluate_formula(formula: str, lookup: Callable[[int, int, int], float], depth: int = 0) -> float:
    """Work out an Excel formula made of numbers, ``+ - * /``, brackets and references to cells
    of the same sheet (``A1``, ``$B$2``), safely (parsed with :mod:`ast`, never ``eval``).

    ``lookup(row, column, depth)`` gives a referenced cell's number. Raises
    :class:`FormulaError` for anything else (functions, other sheets, text, division by 0).
    """
    text = formula.strip()
    if text.startswith("="):
        text = text[1:]
    if not text or len(text) > 300 or depth > 20:
        raise FormulaError("formula too long or too deeply nested")
    if "!" in text or ":" in text or '"' in text:
        raise FormulaError("refers to another sheet, a range or text")
    refs: dict[str, tuple[int, int]] = {}

    def name(m: re.Match) -> str:
        key = f"cell_{m[1].upper()}_{m[2]}"
        refs[key] = (int(m[2]), column_index(m[1]))
        return key

    try:
        tree = ast.parse(_REF.sub(name, text), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise FormulaError("not plain arithmetic") from None

    def value(node: ast.AST, level: int = 0) -> float:
        if level > 100:
            raise FormulaError("too deeply nested")
        if isinstance(node, ast.Expression):
            return value(node.body, level + 1)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            try:
                return float(node.value)
            except OverflowError:
                raise FormulaError("number too large") from None
        if isinstance(node, ast.Name) and node.id in refs:
            return lookup(*refs[node.id], depth + 1)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            x = value(node.operand, level + 1)
            return -x if isinstance(node.op, ast.USub) else x
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            a, b = value(node.left, level + 1), value(node.right, level + 1)
            if isinstance(node.op, ast.Div) and b == 0:
                raise FormulaError("divides by zero")
            return _BINOPS[type(node.op)](a, b)
        raise FormulaError("not plain arithmetic")

    result = value(tree)
    if result != result or result in (float("inf"), float("-inf")):
        raise FormulaError("the result is not a finite number")
    return result


def resolve_formulas(label: str, grid: dict[int, list[Any]], formulas: dict[tuple[int, int], str],
                     errors: dict[tuple[int, int], str]) -> dict[tuple[int, int], Problem]:
    """Fill formula cells without a saved result where they are plain arithmetic; problems for
    the others and for Excel error values, by cell."""
    out: dict[tuple[int, int], Problem] = {}
    done: dict[tuple[int, int], float] = {}

    def lookup(row: int, col: int, depth: int) -> float:
        if (row, col) in done:
            return done[(row, col)]
        if (row, col) in formulas:
            return evaluate_formula(formulas[(row, col)], lookup, depth)
        values = grid.get(row, [])
        v = values[col - 1] if col - 1 < len(values) else None
        if (row, col) in errors:
            raise FormulaError("refers to a cell holding an Excel error")
        if is_blank(v):
            return 0.0
        try:
            return parse_number(v)
        except ValueError:
            raise FormulaError("refers to a cell that is not a number") from None

    for (row, col), formula in formulas.items():
        ref = f"{column_letter(col)}{row}"
        try:
            x = evaluate_formula(formula, lookup)
        except (FormulaError, RecursionError) as exc:
            out[(row, col)] = Problem(label, row, None, formula,
                                      f"cell {ref} holds a formula whose result was not saved (the file was "
                                      f"written by a program other than Excel) and it cannot be worked out "
                                      f"here ({exc}; only numbers, + - * / and cells of this sheet are): open "
                                      "and save it in Excel, or type the value")
            continue
        done[(row, col)] = x
        grid[row][col - 1] = x
    for (row, col), text in errors.items():
        out[(row, col)] = Problem(label, row, None, text,
                                  f"cell {column_letter(col)}{row} shows the Excel error {text}; fix its "
                                  "formula or type the value")
    return out
