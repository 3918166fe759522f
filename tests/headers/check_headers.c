/* C (gnu11) build of the header checker. SPDX-License-Identifier: MIT */
#include "all_headers.h"
#include "all_headers.h"   /* include guards */
#include "runtime_checks.h"

int main(void)
{
	return run_checks("C");
}
