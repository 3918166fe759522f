// machd/daemon/logging.h — where machd's log goes.
//
//   under systemd (--systemd, or stderr is the journal stream JOURNAL_STREAM
//   names)  → the journal, each message with the syslog priority of its level
//             (trace/debug → debug, info → info, warn → warning, error → err,
//             critical → crit), so `journalctl -p warning` selects warnings;
//   --log-file PATH  → appended to PATH (with time stamps);
//   detached (neither --foreground nor --systemd, as mach-run starts it)
//                    → appended to $XDG_STATE_HOME/machd/machd.log (default
//                      ~/.local/state/machd/machd.log) once machd listens;
//                      until then to stderr, so that the starter sees why
//                      machd could not start;
//   otherwise        → stderr.
#pragma once

#include <string>

#include "options.h"

namespace machd {

// Sets spdlog's default logger for `opts` (level included). Returns false
// after printing why on stderr if the log file cannot be opened.
bool set_up_logging(const Options& opts);

// The file a detached machd logs to (opts.log_file if set, else the default
// under $XDG_STATE_HOME), or "" when it logs elsewhere (journal, stderr).
std::string detached_log_file(const Options& opts);

// Detached machd, now listening: stderr (and so the log) goes to `path`,
// created 0600 with its directory (0700) if missing. Returns false (and
// logs why, still to stderr) if it cannot be opened.
bool redirect_stderr_to(const std::string& path);

// True if stderr is the journal stream systemd described in $JOURNAL_STREAM.
bool stderr_is_journal();

}  // namespace machd
