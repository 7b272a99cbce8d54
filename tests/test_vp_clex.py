"""C/C++ through tree-sitter (leakage.vp.clex): function extraction, comment stripping and lexing on tricky code."""

import pytest

from leakage.vp.clex import (CFunction, Lexeme, extract_functions, language_of, lex, lexemes, parse, strip_comments,
                             substitute)
from leakage.vp.juliet import SHIPPED_FILE, read_records

TRICKY_C = r'''#include <stdio.h>
#define OPEN_BLOCK { /* a brace in a macro */
#define CLOSE_BLOCK } // and its twin
#define SQUARE(x) ((x) * (x)) // a function-like macro is no function
static const char *brace = "}{"; /* a string with braces } */
static const char quote = '"';
static int (*handlers[])(int) = { 0, 0 };   /* an initialiser, not a function */
struct point { int x, y; } origin = { 0, 0 };
/* a comment holding a fake function: void fake() { } */
int add(a, b)
    int a;
    int b;
{
    return a + b;  // K&R parameters
}
void (*get_handler(int sig))(int)
{
    return sig ? 0 : 0;
}
int apply(int (*op)(int, int), int a)
{
    const char *s = "not a comment: /* { */ \" still { a string";
    char c = '{';
#ifdef _WIN32
    a += 1;
#else
    a += 2;
#endif
    return op(a, c) + (s != 0);
}
DEFINE_HANDLER(on_exit) { return; }
'''

TRICKY_CPP = r'''#include <vector>
namespace outer {
namespace inner {
template <typename T>
T largest(const std::vector<std::vector<T>> &rows)
{
    return rows[0][0];
}
}
class Klass
{
public:
    Klass() : n(0) {}
    ~Klass() {}
    int get() const { return n; }
private:
    int n;
};
int Klass::twice(int x) { return 2 * x; }
bool operator==(const Klass &, const Klass &) { return true; }
}
extern "C" {
void c_entry(void) { const char *r = R"raw(} not a brace {)raw"; }
}
void uses_lambda()
{
    auto f = [](int v) { return v + 1; };
    struct Local { int m() { return 1; } };
}
'''


def names(functions: list[CFunction]) -> list[str]:
    return [f.name for f in functions]


def test_c_functions_k_and_r_and_function_pointers_are_found_and_initialisers_and_macros_are_not():
    found = extract_functions(TRICKY_C, "c")
    assert names(found) == ["add", "get_handler", "apply"]
    add, handler, apply = found
    assert add.text.startswith("int add(a, b)\n    int a;\n    int b;\n{") and add.text.endswith("}")
    assert handler.text.startswith("void (*get_handler(int sig))(int)") and handler.line == 16
    assert "#ifdef _WIN32" in apply.text and apply.text.endswith("return op(a, c) + (s != 0);\n}")
    assert '"not a comment: /* { */ \\" still { a string"' in apply.text and "'{'" in apply.text
    assert "K&R" not in add.text  # comments inside a function are removed from its text


def test_cpp_namespaces_classes_templates_operators_and_extern_c():
    found = {f.name: f for f in extract_functions(TRICKY_CPP, "cpp")}
    assert list(found) == ["largest", "Klass::Klass", "Klass::~Klass", "Klass::get", "Klass::twice", "operator==",
                           "c_entry", "uses_lambda"]  # in-class methods get their class; no lambda / local method
    assert found["largest"].text.startswith("template <typename T>\nT largest(")
    assert found["c_entry"].text.endswith('R"raw(} not a brace {)raw"; }')
    assert "struct Local" in found["uses_lambda"].text


def test_the_grammar_follows_the_file_suffix():
    assert language_of("x/CWE1_a.c") == "c" and language_of("CWE1_b.cpp") == "cpp" and language_of("k.HPP") == "cpp"
    with pytest.raises(ValueError, match="expected a C file"):
        language_of("notes.txt")
    with pytest.raises(ValueError, match="unknown language 'java'"):
        parse("int x;", "java")
    with pytest.raises(ValueError, match="as a str"):
        lex(b"int x;")  # type: ignore[arg-type]
    # C code that uses a C++ keyword as a name parses as C, not as C++
    c_code = "int new_size(int new) { int class = new; return class; }"
    assert names(extract_functions(c_code, "c")) == ["new_size"] and not parse(c_code, "c").root_node.has_error
    assert parse(c_code, "cpp").root_node.has_error


def test_strip_comments_keeps_literals_and_line_count_and_reaches_into_macros():
    code = strip_comments('a = "// kept /* too */"; // gone\n/* gone\n */ b = \'/\';\n#define M 1 // gone too\n')
    assert '"// kept /* too */"' in code and "gone" not in code and "b = '/'" in code
    assert code.count("\n") == 4  # a comment's newlines are kept
    assert strip_comments("x = 1; /* unterminated") == "x = 1; /* unterminated"  # not a comment to the grammar


def test_lexemes_keep_literals_whole_and_operators_as_the_grammar_has_them():
    assert lex('s = L"a b" "c"; c = \'\\\'\'; p->q <<= 0x1FUL + 1.5e-3f; int f(int a, ...); // x') == [
        "s", "=", 'L"a b"', '"c"', ";", "c", "=", "'\\''", ";", "p", "->", "q", "<<=", "0x1FUL", "+", "1.5e-3f", ";",
        "int", "f", "(", "int", "a", ",", "...", ")", ";"]
    assert lex("#include <stdio.h>\n#define TWICE(x) (2 * (x)) /* c */\n") == [
        "#include", "<stdio.h>", "#define", "TWICE", "(", "x", ")", "(", "2", "*", "(", "x", ")", ")"]
    assert lex("x = -1; y = a-1;") == ["x", "=", "-", "1", ";", "y", "=", "a", "-", "1", ";"]  # no signed literal
    assert lex("std::vector<std::vector<int>> v; a >> b;", "cpp") == [
        "std", "::", "vector", "<", "std", "::", "vector", "<", "int", ">", ">", "v", ";", "a", ">>", "b", ";"]
    kinds = {x.text: x.kind for x in lexemes('if (n) return strlen("x") + \'y\' + 1;')}
    assert kinds == {"if": "if", "(": "(", "n": "identifier", ")": ")", "return": "return", "strlen": "identifier",
                     '"x"': "string_literal", "+": "+", "'y'": "char_literal", "1": "number_literal", ";": ";"}
    assert lexemes("x = 1 @ 2;")[3] == Lexeme("@", "ERROR")  # a stray character is still a lexeme


def test_substitute_replaces_lexemes_and_keeps_the_layout():
    code = 'int  bad_x = 1; /* bad */\n  call(bad_x, "bad");'
    out = substitute(code, lambda x: "id0" if x.text == "bad_x" else ('"S"' if x.kind == "string_literal" else None))
    assert out == 'int  id0 = 1; /* bad */\n  call(id0, "S");'


def test_lexing_the_shipped_corpus_loses_no_character():
    records, _ = read_records(SHIPPED_FILE)
    for r in records[::500]:  # about 130 functions across the CWEs
        assert "".join("".join(lex(r["code"], "cpp")).split()) == "".join(r["code"].split()), r["code"]
