// Semantic analysis (see sema.h): the statements of a file in order. The
// subsystem, prefixes, imports and the other file-wide settings go to the
// Module; a type statement to the TypeTable (sema_types.h); waittime,
// sendtime, msgoption, UseSpecialReplyPort and ConsumeOnSendError change
// what the routines after them get, and each routine is numbered and
// checked by the RoutineBuilder (sema_routines.h).
#include "sema.h"

#include <set>
#include <string>

#include "sema_routines.h"
#include "sema_types.h"

namespace mig {
namespace {

class Sema {
 public:
  explicit Sema(Diagnostics& d) : diag_(d), types_(d), routines_(d, types_) {}

  std::unique_ptr<Module> run(const ast::File& f) {
    m_ = std::make_unique<Module>();
    for (const auto& s : f.statements) statement(s);
    if (!have_subsystem_ && !warned_no_subsystem_)  // one message for one problem
      diag_.fatal("no subsystem statement (subsystem <name> <base>;)");
    if (m_->routine_count > 100)
      diag_.warning(m_->subsystem_loc,
                    "subsystem '" + m_->subsystem + "' has " +
                        std::to_string(m_->routine_count) +
                        " routine ids: request ids overlap reply ids "
                        "(request id + 100)");
    if (diag_.errors()) return nullptr;
    return std::move(m_);
  }

 private:
  void statement(const ast::Statement& s) {
    using SK = ast::Statement::Kind;
    switch (s.kind) {
      case SK::Subsystem:
        if (have_subsystem_) {
          diag_.error(s.loc, "subsystem already declared as '" +
                                 m_->subsystem + "'");
          return;
        }
        // (Routines before it were reported already.)
        have_subsystem_ = true;
        m_->subsystem = s.name;
        m_->subsystem_loc = s.loc;
        m_->base = static_cast<unsigned>(s.number);
        m_->kernel_user = s.kernel_user;
        m_->kernel_server = s.kernel_server;
        return;
      case SK::Routine: routine(s.routine); return;
      case SK::Skip:
        need_subsystem(s.loc);
        ++m_->routine_count;
        return;
      case SK::Type: types_.declare(s.type); return;
      case SK::Import: m_->imports.push_back({s.import_kind, s.file}); return;
      case SK::UserPrefix:
        if (!m_->user_prefix.empty())
          diag_.warning(s.loc, "userprefix given twice; the last one wins");
        m_->user_prefix = s.name;
        return;
      case SK::ServerPrefix:
        if (!m_->server_prefix.empty())
          diag_.warning(s.loc, "serverprefix given twice; the last one wins");
        m_->server_prefix = s.name;
        return;
      case SK::ServerDemux: m_->server_demux = s.name; return;
      case SK::RcsId: m_->rcsid = s.text; return;
      // In force for the routines that follow (Apple's MIG).
      case SK::WaitTime: defaults_.wait_time = s.text; return;
      case SK::NoWaitTime: defaults_.wait_time.clear(); return;
      case SK::SendTime: defaults_.send_time = s.text; return;
      case SK::NoSendTime: defaults_.send_time.clear(); return;
      case SK::MsgOption: defaults_.msg_option = s.text; return;
      case SK::UseSpecialReplyPort:
        defaults_.use_special_reply_port = s.number != 0;
        m_->has_use_special_reply_port |= defaults_.use_special_reply_port;
        return;
      case SK::ConsumeOnSendError:
        if (s.name != "None" && s.name != "Timeout" && s.name != "Any") {
          diag_.error(s.loc, "expected None, Timeout or Any, found '" +
                                 s.name + "'");
          return;
        }
        defaults_.consume_on_send_error = s.name;
        m_->has_consume_on_send_error |= s.name != "None";
        return;
      case SK::UserTypeLimit:
      case SK::OnStackLimit: return;  // sizes of stack buffers: accepted
    }
  }

  void need_subsystem(const SourceLoc& loc) {
    if (!have_subsystem_ && !warned_no_subsystem_) {
      diag_.error(loc, "expected a subsystem statement (subsystem <name> "
                       "<base>;) before the first routine");
      warned_no_subsystem_ = true;
    }
  }

  // A routine statement: it takes the next number even when it has errors.
  void routine(const ast::RoutineDecl& rd) {
    need_subsystem(rd.loc);
    unsigned number = m_->routine_count++;
    if (!routine_names_.insert(rd.name).second) {
      diag_.error(rd.loc, "routine '" + rd.name + "' already declared");
      return;
    }
    if (rd.broken) return;  // its syntax error is reported: no guesses
    auto r = routines_.build(rd, number, defaults_);
    if (!r) return;
    // Apple's MIG refuses it too (rtProcessUseSpecialReplyPort).
    if (r->use_special_reply_port && (m_->kernel_user || m_->kernel_server))
      diag_.error(rd.loc, "routine '" + rd.name + "' cannot use the special "
                          "reply port in a " +
                          (m_->kernel_user ? "KernelUser" : "KernelServer") +
                          " subsystem (UseSpecialReplyPort is in force)");
    m_->routines.push_back(std::move(r));
  }

  Diagnostics& diag_;
  std::unique_ptr<Module> m_;
  TypeTable types_;
  RoutineBuilder routines_;
  std::set<std::string> routine_names_;
  bool have_subsystem_ = false;
  RoutineDefaults defaults_;  // the statements in force for the next routine
  bool warned_no_subsystem_ = false;
};

}  // namespace

std::unique_ptr<Module> analyze(const ast::File& file, Diagnostics& diag) {
  Sema s(diag);
  return s.run(file);
}

}  // namespace mig
