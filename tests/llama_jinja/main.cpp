// Renders a chat template with llama.cpp's own Jinja engine (common/jinja, the one llama-server uses
// to apply the template inside a GGUF), from the llama.cpp sources of the pinned llama-cpp-python
// sdist. Only this file is ours: it reads {"template", "messages", "add_generation_prompt", ...} as
// JSON on stdin and prints the rendered text, as tests/test-jinja.cpp there drives the engine.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

#include "ggml.h"
#include "json.h"
#include "jinja/lexer.h"
#include "jinja/parser.h"
#include "jinja/runtime.h"

// common/json.cpp's asserts call ggml_abort; ggml itself is not linked, only its header is read.
void ggml_abort(const char * file, int line, const char * fmt, ...) {
    std::fprintf(stderr, "%s:%d: %s\n", file, line, fmt);
    std::abort();
}

int main() {
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    common_json vars = common_json::parse(input);
    std::string tmpl = vars.at("template").get<std::string>();
    jinja::lexer lexer;
    auto tokens = lexer.tokenize(tmpl);
    jinja::program program = jinja::parse_from_tokens(tokens);
    jinja::context ctx(tmpl);
    jinja::global_from_json(ctx, vars, true);
    jinja::runtime runtime(ctx);
    std::cout << runtime.gather_string_parts(runtime.execute(program))->as_string().str();
    return 0;
}
