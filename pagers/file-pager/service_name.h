// pagers/file-pager/service_name.h — the bootstrap name file-pager
// publishes a file's object under when none is given.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <string>

namespace filepager {

// "file-pager:" followed by the file's absolute path (realpath), so that a
// client finds the object from the path alone.  A path too long for a
// bootstrap name (name_t: 127 characters) is shortened to its last
// characters after a hash of the whole path, which keeps names of
// different files apart.  "" if the path cannot be resolved.
std::string default_service_name(const std::string& path);

}  // namespace filepager
