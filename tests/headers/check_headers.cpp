// C++20 build of the header checker. SPDX-License-Identifier: MIT
#include "all_headers.h"
#include "all_headers.h"   // include guards
#include "runtime_checks.h"

#include <type_traits>

// C++-only: the wire structs are trivially copyable standard-layout types.
static_assert(std::is_standard_layout_v<mach_msg_header_t>);
static_assert(std::is_trivially_copyable_v<mach_msg_max_trailer_t>);
static_assert(std::is_standard_layout_v<mach_dead_name_notification_t>);
static_assert(std::is_same_v<mach_port_t, unsigned int>);
static_assert(std::is_same_v<natural_t, unsigned int>);
static_assert(std::is_same_v<kern_return_t, int>);
static_assert(std::is_same_v<mach_msg_return_t, kern_return_t>);

int main()
{
	return run_checks("C++");
}
