// mig: the Mach Interface Generator.
//
//   .defs --cpp--> text --lexer--> tokens --parser--> AST --sema--> Module
//         --emitters--> <sub>.h, <sub>User.c, <sub>Server.c, ...
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "diag.h"
#include "emit.h"
#include "lexer.h"
#include "options.h"
#include "parser.h"
#include "preprocess.h"
#include "sema.h"

namespace {

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool write_out(const std::string& path, const std::string& text,
               const mig::Options& opts, mig::Diagnostics& diag) {
  if (path == "/dev/null") return true;
  if (opts.verbose) std::fprintf(stderr, "mig: writing %s\n", path.c_str());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    diag.fatal("cannot write '" + path + "': " + std::strerror(errno));
    return false;
  }
  out << text;
  out.close();
  if (!out) {
    diag.fatal("error writing '" + path + "'");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  bool exit_now = false;
  int exit_code = 0;
  auto opts = mig::parse_command_line(argc, argv, &exit_now, &exit_code);
  if (exit_now) return exit_code;
  if (!opts) return 2;

  mig::Diagnostics diag;
  diag.set_quiet(opts->quiet);

  auto text = mig::preprocess(*opts, diag);
  if (!text) return 1;  // ~Diagnostics prints the messages
  std::string input_name = opts->input == "-" ? "<stdin>" : opts->input;
  auto tokens = mig::lex(*text, input_name, diag);
  // The statements that parsed are checked even after a syntax error, so
  // one run reports both kinds.
  mig::ast::File file = mig::parse(tokens, diag);
  auto module = mig::analyze(file, diag);
  if (!module || diag.errors()) return 1;

  if (opts->dump_layout) {
    std::fputs(mig::dump_layout(*module).c_str(), stdout);
    return 0;
  }

  const std::string& sub = module->subsystem;
  std::string user = opts->user_file.value_or(sub + "User.c");
  std::string server = opts->server_file.value_or(sub + "Server.c");
  std::string header = opts->header_file.value_or(sub + ".h");

  mig::EmitContext cx{*module, base_name(header),
                      opts->sheader_file ? base_name(*opts->sheader_file) : "",
                      input_name};
  if (header == "/dev/null") cx.header_name = sub + ".h";

  bool ok = true;
  ok &= write_out(header, mig::emit_user_header(cx), *opts, diag);
  ok &= write_out(user, mig::emit_user(cx), *opts, diag);
  ok &= write_out(server, mig::emit_server(cx), *opts, diag);
  if (opts->sheader_file)
    ok &= write_out(*opts->sheader_file, mig::emit_server_header(cx), *opts, diag);
  if (opts->iheader_file)
    ok &= write_out(*opts->iheader_file, mig::emit_internal_header(cx), *opts, diag);
  if (opts->dheader_file)
    ok &= write_out(*opts->dheader_file, mig::emit_defines_header(cx), *opts, diag);
  if (opts->cxx_file)
    ok &= write_out(*opts->cxx_file, mig::emit_cxx(cx), *opts, diag);
  return ok && diag.errors() == 0 ? 0 : 1;
}
