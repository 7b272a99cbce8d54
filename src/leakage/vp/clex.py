"""A small C/C++ lexer: strip comments, mask literals, extract function definitions, split into lexemes.

Not a parser: function definitions are found by brace matching on text whose comments are removed
and whose string/char literal contents are masked (so a ``{`` inside ``"..."`` never counts), and
whose preprocessor lines are blanked. A definition is a ``{ ... }`` block at file level (or inside
``namespace X { }`` / ``extern "C" { }``) whose header ends like ``name(params)`` (optionally
``const`` / ``throw(...)``). Limits, stated: C++ raw string literals and unbalanced braces split
across ``#if``/``#else`` branches are not handled; a file whose braces do not balance yields the
functions found before the imbalance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMENT_OR_LITERAL = re.compile(
    r"//(?:[^\n\\]|\\.)*|/\*.*?\*/|/\*.*\Z|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.DOTALL)
_LITERAL = re.compile(r"\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'")
_PREPROCESSOR = re.compile(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", re.MULTILINE)
_BRACE_OR_SEMI = re.compile(r"[{};]")
_BRACE = re.compile(r"[{}]")
_CONTAINER = re.compile(r"^\s*(?:namespace\b[^()=;]*|extern\s+\"[^\"]*\"\s*)$")
_FUNCTION_HEADER = re.compile(
    r"([A-Za-z_~][\w:~]*)\s*\((?:[^()]|\([^()]*\))*\)\s*(?:const\s*)?(?:throw\s*\([^()]*\)\s*)?"
    r"(?:noexcept\s*)?\Z")
_KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "do", "else", "case"}

# Lexemes of C/C++: identifiers, numbers, literals, multi-char operators, then any other character.
C_LEXEME = (r"[A-Za-z_]\w*|0[xX][0-9a-fA-F]+[uUlL]*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?[uUlLfF]*"
            r"|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'"
            r"|->|\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|\+=|-=|\*=|/=|%=|&=|\|=|\^=|&&|\|\||::|[^\s\w]")
_LEXEME = re.compile(C_LEXEME)


@dataclass(frozen=True)
class CFunction:
    """One function definition: its (possibly qualified) name and its text, header through closing brace."""

    name: str
    text: str


def strip_comments(source: str) -> str:
    """``source`` without ``//`` and ``/* */`` comments (each becomes a space, or the newlines it spanned).

    String and character literals are kept intact, so ``"/* not a comment */"`` survives.
    """
    def replace(match: re.Match) -> str:
        text = match.group()
        if text[0] != "/":
            return text
        return "\n" * text.count("\n") or " "

    return _COMMENT_OR_LITERAL.sub(replace, source)


def mask_literals(code: str) -> str:
    """``code`` with the contents of string and char literals replaced by ``x`` (same length, quotes kept)."""
    return _LITERAL.sub(lambda m: m.group()[0] + "x" * (len(m.group()) - 2) + m.group()[-1], code)


def _blank(match: re.Match) -> str:
    return re.sub(r"[^\n]", " ", match.group())


def _matching_brace(masked: str, open_at: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``open_at``, or -1 if it never closes."""
    depth = 0
    for match in _BRACE.finditer(masked, open_at):
        depth += 1 if match.group() == "{" else -1
        if depth == 0:
            return match.start()
    return -1


def extract_functions(source: str) -> list[CFunction]:
    """Every function definition in a C/C++ file (comments removed from the returned text), in file order."""
    code = strip_comments(source)
    masked = _PREPROCESSOR.sub(_blank, mask_literals(code))
    functions: list[CFunction] = []
    header_start, at = 0, 0
    while True:
        match = _BRACE_OR_SEMI.search(masked, at)
        if match is None:
            break
        char, pos = match.group(), match.start()
        if char in ";}":  # a declaration ends, or a namespace closes
            header_start = at = pos + 1
            continue
        header = masked[header_start:pos]
        if _CONTAINER.match(header):  # scan inside namespace / extern "C" blocks
            header_start = at = pos + 1
            continue
        end = _matching_brace(masked, pos)
        if end < 0:
            break
        found = _FUNCTION_HEADER.search(header.rstrip())
        if found and found.group(1).split("::")[-1] not in _KEYWORDS and "=" not in header[:found.start()]:
            start = header_start + len(header) - len(header.lstrip())
            functions.append(CFunction(name=found.group(1), text=code[start:end + 1]))
        header_start = at = end + 1
    return functions


def lex(code: str) -> list[str]:
    """The C lexemes of ``code`` (whitespace dropped): identifiers, numbers, literals, operators."""
    return _LEXEME.findall(code)
