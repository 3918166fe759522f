// tests/headers/warning_free_use.cpp — warning_free_use.c compiled as C++.
// SPDX-License-Identifier: MIT
#include "warning_free_use.c"
