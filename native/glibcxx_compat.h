// Force-included into every source on Linux (binding.gyp), so that a prebuilt addon loads where the system's
// libstdc++ is older than the compiler's. GCC 12 gave std::condition_variable::wait a new symbol version,
// GLIBCXX_3.4.30, which libstdc++ before GCC 12 lacks (Debian 11, Ubuntu 20.04, RHEL 9); every libstdc++ since
// GCC 4.4 has the same function as GLIBCXX_3.4.11, and new ones keep it. With this the addon needs GLIBCXX_3.4.22
// and glibc 2.27, below what Node 20 itself needs.
#pragma once
#include <cstddef>

#if defined(__GLIBCXX__)
__asm__(".symver _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE,"
        "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");
#endif
