// tests/system/bootstrap_test.cc — the bootstrap name service.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "support.h"

using namespace systest;

namespace {

// bootstrap_look_up of `name` until the name is gone (up to 2 s); returns
// the last answer.
kern_return_t look_up_until_unknown(const std::string& name) {
  kern_return_t kr = KERN_SUCCESS;
  for (int i = 0; i < 200; ++i) {
    mach_port_t p = MACH_PORT_NULL;
    kr = bootstrap_look_up(bootstrap_port, name.c_str(), &p);
    if (kr == BOOTSTRAP_UNKNOWN_SERVICE) break;
    if (kr == KERN_SUCCESS) mach_port_deallocate(mach_task_self(), p);
    usleep(10000);
  }
  return kr;
}

}  // namespace

TEST(Bootstrap, EveryTaskHasABootstrapPort) {
  EXPECT_NE(bootstrap_port, MACH_PORT_NULL);
  mach_port_t bp = MACH_PORT_NULL;
  ASSERT_EQ(task_get_bootstrap_port(mach_task_self(), &bp), KERN_SUCCESS);
  EXPECT_EQ(bp, bootstrap_port) << "the same port, under the same name";
  mach_port_deallocate(mach_task_self(), bp);
}

TEST(Bootstrap, LookUpOfUnknownNameIsUnknownService) {
  mach_port_t p = MACH_PORT_NULL;
  EXPECT_EQ(bootstrap_look_up(bootstrap_port, "org.machd.test.nobody-here", &p), BOOTSTRAP_UNKNOWN_SERVICE);
}

TEST(Bootstrap, CheckInTwiceIsServiceActive) {
  mach_port_t p = MACH_PORT_NULL, q = MACH_PORT_NULL;
  std::string name = check_in_unique("twice", &p);
  ASSERT_FALSE(name.empty());
  EXPECT_EQ(bootstrap_check_in(bootstrap_port, name.c_str(), &q), BOOTSTRAP_SERVICE_ACTIVE);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Bootstrap, RegisterThenLookUpGivesTheSamePort) {
  mach_port_t p = make_port();
  std::string name = "org.machd.test.register." + std::to_string(getpid());
  ASSERT_EQ(bootstrap_register(bootstrap_port, const_cast<char*>(name.c_str()), p), KERN_SUCCESS);
  EXPECT_EQ(bootstrap_register(bootstrap_port, const_cast<char*>(name.c_str()), p), BOOTSTRAP_NAME_IN_USE);
  mach_port_t q = MACH_PORT_NULL;
  ASSERT_EQ(bootstrap_look_up(bootstrap_port, name.c_str(), &q), KERN_SUCCESS);
  EXPECT_EQ(q, p) << "a send right to our own port comes back under our name";
  mach_port_deallocate(mach_task_self(), q);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), p);
}

TEST(Bootstrap, NameDisappearsWhenItsServerDies) {
  std::string name = "org.machd.test.vanish." + std::to_string(getpid());
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t server = spawn_task([&] {
    mach_port_t p = MACH_PORT_NULL;
    if (bootstrap_check_in(bootstrap_port, name.c_str(), &p) != KERN_SUCCESS) return 1;
    (void)!write(ready[1], "x", 1);
    pause();
    return 0;
  });
  close(ready[1]);  // (ours: a child that fails early ends the read)
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  kill(server, SIGKILL);
  wait_exit(server);
  EXPECT_EQ(look_up_until_unknown(name), BOOTSTRAP_UNKNOWN_SERVICE);
  // And the name can be taken again.
  mach_port_t again = MACH_PORT_NULL;
  EXPECT_EQ(bootstrap_check_in(bootstrap_port, name.c_str(), &again), KERN_SUCCESS);
  mach_port_mod_refs(mach_task_self(), again, MACH_PORT_RIGHT_RECEIVE, -1);
  close(ready[0]);
}

// One port registered under two names: when it dies, both names go (and
// neither is left pointing at a name the kernel task no longer holds).
TEST(Bootstrap, PortRegisteredUnderTwoNamesVanishesFromBoth) {
  std::string a = "org.machd.test.twonames.a." + std::to_string(getpid());
  std::string b = "org.machd.test.twonames.b." + std::to_string(getpid());
  mach_port_t p = make_port();
  ASSERT_EQ(bootstrap_register(bootstrap_port, const_cast<char*>(a.c_str()), p), KERN_SUCCESS);
  ASSERT_EQ(bootstrap_register(bootstrap_port, const_cast<char*>(b.c_str()), p), KERN_SUCCESS);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), p);  // the dead name left behind
  // Ask from a child so that a reply that never comes fails the test
  // instead of hanging it.
  pid_t child = spawn_task([&] {
    for (const std::string* n : {&a, &b})
      if (look_up_until_unknown(*n) != BOOTSTRAP_UNKNOWN_SERVICE) return n == &a ? 10 : 20;
    return 0;
  });
  int code = reap_within(child, 10000);
  EXPECT_EQ(code, 0) << "10/20: name a/b still resolves; -1: look-up hung";
  // Both names can be taken again.
  mach_port_t again = make_port();
  EXPECT_EQ(bootstrap_register(bootstrap_port, const_cast<char*>(a.c_str()), again), KERN_SUCCESS);
  EXPECT_EQ(bootstrap_register(bootstrap_port, const_cast<char*>(b.c_str()), again), KERN_SUCCESS);
  mach_port_mod_refs(mach_task_self(), again, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), again);
}

// A task registers its own task port (whose receive right is machd's) and
// dies: the name must not be left behind, unusable and impossible to take
// again (or, once machd reuses the name, resolving to some other port).
TEST(Bootstrap, NameOfADeadTasksTaskPortDoesNotOutliveIt) {
  std::string name = "org.machd.test.taskport." + std::to_string(getpid());
  uint64_t tasks = holdings().tasks;
  pid_t child = spawn_task([&] {
    kern_return_t kr = bootstrap_register(bootstrap_port, const_cast<char*>(name.c_str()), mach_task_self());
    return kr == KERN_SUCCESS || kr == KERN_INVALID_RIGHT ? 0 : 1;  // kept, or refused
  });
  ASSERT_EQ(wait_exit(child), 0);
  ASSERT_TRUE(wait_for_tasks(tasks));
  EXPECT_EQ(look_up_until_unknown(name), BOOTSTRAP_UNKNOWN_SERVICE);
  mach_port_t again = make_port();
  EXPECT_EQ(bootstrap_register(bootstrap_port, const_cast<char*>(name.c_str()), again), KERN_SUCCESS);
  mach_port_mod_refs(mach_task_self(), again, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), again);
}
