// machd/kern/process.cc — see process.h.
#include "process.h"

#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace machd::kern {

namespace {

// The fields of the stat file at `path` after the command (which may hold
// spaces and parentheses), into buf; nullptr if unreadable.
const char* stat_fields_at(const char* path, char* buf, size_t size) {
  FILE* f = fopen(path, "re");
  if (f == nullptr) return nullptr;
  size_t n = fread(buf, 1, size - 1, f);
  fclose(f);
  buf[n] = 0;
  const char* close_paren = strrchr(buf, ')');
  return close_paren == nullptr ? nullptr : close_paren + 1;
}

// The same of /proc/PID/stat.
const char* stat_fields(pid_t pid, char* buf, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", int(pid));
  return stat_fields_at(path, buf, size);
}

}  // namespace

pid_t parent_of(pid_t pid) {
  char buf[1024];
  const char* rest = stat_fields(pid, buf, sizeof buf);
  int ppid = 0;
  if (rest == nullptr || sscanf(rest, " %*c %d", &ppid) != 1) return 0;
  return pid_t(ppid);
}

uint64_t start_time_of(pid_t pid) {
  char buf[1024];
  const char* rest = stat_fields(pid, buf, sizeof buf);
  char state = 0;
  unsigned long long start = 0;
  // state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime priority nice num_threads itrealvalue
  // starttime(22)
  if (rest == nullptr ||
      sscanf(rest, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state,
             &start) != 2)
    return 0;
  if (state == 'Z' || state == 'X') return 0;
  return start;
}

int open_process_fd(pid_t pid, uint64_t start_time) {
  if (pid <= 0 || start_time == 0) return -1;
  const int fd = int(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return -1;
  // Checked after opening: the pidfd names whatever process had the pid
  // then, which is the one we mean only if it started when we think.
  if (start_time_of(pid) != start_time) {
    close(fd);
    return -1;
  }
  return fd;
}

bool may_still_answer(pid_t pid) {
  if (pid <= 0) return false;
  char dir_path[64];
  snprintf(dir_path, sizeof dir_path, "/proc/%d/task", int(pid));
  DIR* dir = opendir(dir_path);
  if (dir == nullptr) return false;
  bool moving = false;
  while (!moving) {
    const dirent* e = readdir(dir);
    if (e == nullptr) break;
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[64 + sizeof e->d_name + 8];
    snprintf(path, sizeof path, "%s/%s/stat", dir_path, e->d_name);
    char buf[1024];
    const char* rest = stat_fields_at(path, buf, sizeof buf);
    char state = 0;
    if (rest == nullptr || sscanf(rest, " %c", &state) != 1) continue;  // (a thread that just ended)
    moving = state == 'R' || state == 'D' || state == 'T' || state == 't';
  }
  closedir(dir);
  return moving;
}

}  // namespace machd::kern
