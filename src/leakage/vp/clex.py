"""C/C++ source through tree-sitter: strip comments, extract function definitions, split into lexemes.

Every operation works on the concrete syntax tree of `tree-sitter <https://tree-sitter.github.io>`_
(the ``tree-sitter-c`` grammar for C, ``tree-sitter-cpp`` for C++; :func:`language_of` picks one
from a file suffix), so a brace, quote or ``//`` inside a string literal, a comment or a macro is
never mistaken for code. tree-sitter parses without running the preprocessor: ``#if``/``#else``
branches are both in the tree, and a construct it cannot parse (e.g. braces that only balance
per branch, or a function header built by a macro) becomes an ``ERROR`` node, whose pieces are
still lexed (a function definition is found there only where error recovery kept it whole). The
body of a ``#define`` is one ``preproc_arg`` node in both grammars; it is parsed again on its
own, so its comments and lexemes are found too.
"""

from __future__ import annotations

import bisect
import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePath

import tree_sitter
import tree_sitter_c
import tree_sitter_cpp

LANGUAGES: tuple[str, ...] = ("c", "cpp")
# the grammar for code of either language (a corpus of C and C++ functions): C++'s `::`, raw strings, ... are
# lexed whole, and C code lexes as in the C grammar (measured: the same lexemes for all 46,046 functions of the
# shipped Juliet corpus that come from .c files)
CORPUS_LANGUAGE = "cpp"
_SUFFIXES = {".c": "c", ".h": "c", ".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp", ".c++": "cpp", ".hpp": "cpp",
             ".hh": "cpp", ".hxx": "cpp"}
# nodes that are one lexeme although the grammar gives them children (quotes, escapes, raw-string delimiters)
_ATOMIC = frozenset({"string_literal", "char_literal", "raw_string_literal", "system_lib_string"})
# declarator nodes a function's name is nested in: `*f(...)`, `(f)(...)`, `&f(...)`, `f(...) [[attr]]`
_WRAPPERS = frozenset({"pointer_declarator", "reference_declarator", "parenthesized_declarator",
                       "attributed_declarator", "function_declarator"})
_CLASSES = frozenset({"class_specifier", "struct_specifier", "union_specifier"})


@dataclass(frozen=True)
class CFunction:
    """One function definition.

    ``name``: the declarator's name as written (``f``, ``Klass::method``, ``operator==``, ``~Klass``),
    prefixed by the enclosing class(es) for a method defined inside its class body (``Klass::method``);
    namespaces are not prefixed. ``text``: the source from the first specifier (the ``template<...>``
    line of a template) through the closing brace, comments removed (see :func:`strip_comments`).
    ``line``: the 1-based line it starts on.
    """

    name: str
    text: str
    line: int


@dataclass(frozen=True)
class Lexeme:
    """One token: its ``text`` and its ``kind``, the grammar's node type (``identifier``, ``number_literal``,
    ``string_literal``, ``primitive_type``, a keyword or operator as itself such as ``if`` or ``->``,
    ``preproc_directive``, or ``ERROR`` for a character no rule accepts)."""

    text: str
    kind: str


def language_of(path: str | os.PathLike) -> str:
    """``"c"`` for a ``.c``/``.h`` file, ``"cpp"`` for ``.cpp``/``.cc``/``.cxx``/``.hpp``/...; ValueError otherwise."""
    suffix = PurePath(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(f"cannot tell the language of {str(path)!r}: expected a C file (.c, .h) or a C++ file "
                         f"({', '.join(s for s, lang in _SUFFIXES.items() if lang == 'cpp')})")
    return _SUFFIXES[suffix]


@functools.lru_cache(maxsize=None)
def _parser(language: str) -> tree_sitter.Parser:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    grammar = tree_sitter_c.language() if language == "c" else tree_sitter_cpp.language()
    return tree_sitter.Parser(tree_sitter.Language(grammar))


def _encode(source: str) -> bytes:
    if not isinstance(source, str):
        raise ValueError(f"expected C/C++ source as a str, got {type(source).__name__}")
    return source.encode("utf-8", "surrogatepass")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def parse(source: str, language: str = "c") -> tree_sitter.Tree:
    """The tree-sitter syntax tree of ``source`` in ``language`` (``"c"`` or ``"cpp"``); byte offsets are UTF-8."""
    return _parser(language).parse(_encode(source))


def _walk(node: tree_sitter.Node, skip: frozenset[str] = frozenset()) -> Iterator[tree_sitter.Node]:
    """Pre-order traversal (children in source order), not descending into nodes of a type in ``skip``."""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        if node.type not in skip:
            stack.extend(reversed(node.children))


def _comment_spans(node: tree_sitter.Node, data: bytes, language: str, offset: int = 0) -> Iterator[tuple[int, int]]:
    """(start, end) byte spans of the comments under ``node``, those inside ``#define`` bodies included."""
    for child in _walk(node, skip=_ATOMIC | {"comment", "preproc_arg"}):
        if child.type == "comment":
            yield offset + child.start_byte, offset + child.end_byte
        elif child.type == "preproc_arg":
            inner = data[child.start_byte:child.end_byte]
            yield from _comment_spans(_parser(language).parse(inner).root_node, inner, language,
                                      offset + child.start_byte)


def _without_comments(data: bytes, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    """``data[start:end]`` with each comment span in it (``spans`` sorted, none straddling ``start`` or ``end``)
    replaced by the newlines it held, or one space."""
    pieces, at = [], start
    for begin, stop in spans[bisect.bisect_left(spans, (start, start)):]:
        if begin >= end:
            break
        pieces += [data[at:begin], b"\n" * data.count(b"\n", begin, stop) or b" "]
        at = stop
    pieces.append(data[at:end])
    return _decode(b"".join(pieces))


def strip_comments(source: str, language: str = "c") -> str:
    """``source`` without its ``//`` and ``/* */`` comments, each replaced by the newlines it spanned (or one space).

    Comments are the grammar's ``comment`` nodes, so ``"/* not a comment */"`` and ``'/'`` survive, and a
    comment inside a ``#define`` body goes too. An unterminated ``/*`` is not a comment to tree-sitter and
    stays.
    """
    data = _encode(source)
    spans = sorted(_comment_spans(parse(source, language).root_node, data, language))
    return _without_comments(data, 0, len(data), spans)


def _function_name(definition: tree_sitter.Node) -> str | None:
    """The name in a ``function_definition``'s declarator, or None if no function declarator is there."""
    node, is_function = definition.child_by_field_name("declarator"), False
    while node is not None and node.type in _WRAPPERS:
        is_function |= node.type == "function_declarator"
        inner = node.child_by_field_name("declarator")
        if inner is None:  # parenthesized / reference declarators name no field: their last named child
            named = [c for c in node.named_children if c.type not in ("attribute_specifier", "ms_call_modifier")]
            inner = named[-1] if named else None
        node = inner
    if node is None or not is_function:
        return None  # e.g. `MACRO(x) { ... }`, which the grammar reads as a declarator `(x)` of type MACRO
    return " ".join(_decode(node.text).split())


def _class_name(node: tree_sitter.Node) -> str:
    name = node.child_by_field_name("name")
    return _decode(name.text) if name is not None else "<anonymous>"


def extract_functions(source: str, language: str = "c") -> list[CFunction]:
    """Every function definition of a C/C++ file, in file order, as :class:`CFunction` (comments removed).

    A definition is a ``function_definition`` node of the syntax tree whose declarator declares a function,
    wherever it is: top level, ``#if`` branches, ``namespace`` and ``extern "C"`` blocks, class bodies, or an
    ``ERROR`` node where error recovery kept it whole; not inside another function (a local class's methods
    are part of that function). K&R-style parameter declarations and function-pointer return types
    (``void (*f(int))(int) {...}``) are handled. Code the grammar cannot parse as a definition yields none: a
    header built by a macro (``MACRO(x) {...}``), pre-C99 implicit ``int`` (``static helper(void) {...}``),
    braces that only balance per ``#if`` branch.
    """
    data = _encode(source)
    root = parse(source, language).root_node
    spans = sorted(_comment_spans(root, data, language))
    functions: list[CFunction] = []
    stack: list[tuple[tree_sitter.Node, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, classes = stack.pop()
        if node.type == "function_definition":
            name = _function_name(node)
            if name is not None:
                whole = node.parent if node.parent is not None and node.parent.type == "template_declaration" else node
                functions.append(CFunction(name="::".join((*classes, name)),
                                           text=_without_comments(data, whole.start_byte, whole.end_byte, spans),
                                           line=whole.start_point[0] + 1))
            continue
        if node.type == "comment" or node.type in _ATOMIC:
            continue
        inner = (*classes, _class_name(node)) if node.type in _CLASSES else classes
        stack.extend((child, inner) for child in reversed(node.children))
    return functions


def _spans(root: tree_sitter.Node, data: bytes, language: str, offset: int = 0) -> Iterator[tuple[int, int, str]]:
    """(start, end, kind) of every lexeme under ``root`` in source order; byte offsets into the outer text."""
    for node in _walk(root, skip=_ATOMIC | {"comment", "preproc_arg"}):
        if node.type == "comment" or node.start_byte == node.end_byte:
            continue
        if node.type == "preproc_arg":
            inner = data[node.start_byte:node.end_byte]
            yield from _spans(_parser(language).parse(inner).root_node, inner, language, offset + node.start_byte)
        elif node.type == "number_literal" and data[node.start_byte:node.start_byte + 1] in (b"-", b"+"):
            # the grammars fold a sign into the literal where a unary operator could stand (`x = -1`); C's
            # lexical grammar has no signed literal, so the sign is an operator lexeme of its own
            sign = node.start_byte + offset
            yield sign, sign + 1, _decode(data[node.start_byte:node.start_byte + 1])
            yield sign + 1, offset + node.end_byte, node.type
        elif node.type in _ATOMIC or node.child_count == 0:
            yield offset + node.start_byte, offset + node.end_byte, node.type


def lexemes(code: str, language: str = "c") -> list[Lexeme]:
    """The tokens of ``code`` in source order, comments and whitespace dropped: the leaves of its syntax tree.

    A string or char literal (prefix such as ``L`` included), a raw string, a preprocessor directive such as
    ``#ifdef`` and an ``#include <...>`` path are one lexeme each; a ``#define`` body is lexed as code; the sign
    the grammars fold into a number where a unary operator could stand (``x = -1``) is a lexeme of its own, as
    in C. Zero-width nodes tree-sitter inserts while recovering from an error (a missing ``;``) are not lexemes.
    """
    data = _encode(code)
    return [Lexeme(_decode(data[start:end]), kind)
            for start, end, kind in _spans(parse(code, language).root_node, data, language)]


def lex(code: str, language: str = "c") -> list[str]:
    """The texts of :func:`lexemes`: identifiers, keywords, literals, operators and punctuation of ``code``."""
    return [lexeme.text for lexeme in lexemes(code, language)]


def substitute(code: str, replace: Callable[[Lexeme], str | None], language: str = "c") -> str:
    """``code`` with every lexeme for which ``replace(lexeme)`` returns a string replaced by that string.

    ``replace`` returns None to keep a lexeme; whitespace, comments and layout between lexemes are kept as they
    are, so e.g. renaming identifiers leaves the function's lines intact.
    """
    data = _encode(code)
    pieces, at = [], 0
    for start, end, kind in _spans(parse(code, language).root_node, data, language):
        new = replace(Lexeme(_decode(data[start:end]), kind))
        if new is not None:
            pieces += [data[at:start], _encode(new)]
            at = end
    pieces.append(data[at:])
    return _decode(b"".join(pieces))
