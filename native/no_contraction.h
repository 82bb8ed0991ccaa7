// Included first by a file whose double-precision arithmetic must give JavaScript's numbers bit for bit: the build
// contracts a * b + c into one fused multiply-add (-ffp-contract=fast), which rounds once where JavaScript rounds
// twice, so contraction is off for the rest of that file.
#pragma once

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
