// Scratch memory of the calling thread kept between calls, like a BLAS's workspace (included by the kernel headers,
// so each ISA level has its own copy; see csrc/cpu/isa/begin.h). A fresh allocation of a few MB per call is a fresh
// mapping whose page faults (and a std::vector's zero fill) cost up to ~10 % of a short kernel. The buffer only
// grows, and release_if_large() frees it after a call that needed more than kKeepBytes, so one huge call does not
// pin memory in every thread. Each (T, Tag) pair is its own buffer in each thread.
#pragma once
#ifndef UNITRACK_ISA_SKIP

namespace unitrack {
namespace cpu {
namespace UNITRACK_ISA {

template <typename T, typename Tag>
class ThreadWorkspace {
 public:
  static constexpr size_t kKeepBytes = size_t{32} << 20;

  // n elements, 64-byte aligned (every vector load of a packed block is one cache line), uninitialised; valid until
  // the next get() or release_if_large() of this (T, Tag) in this thread.
  static T* get(size_t n) {
    Slot& s = slot();
    const size_t need = n + 64 / sizeof(T);
    if (s.size < need) {
      s.buf.reset();  // free the old one first: the peak is the new size, not old + new
      s.size = 0;
      s.buf.reset(new T[need]);
      s.size = need;
    }
    return reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(s.buf.get()) + 63) & ~uintptr_t(63));
  }

  static void release_if_large() {
    Slot& s = slot();
    if (s.size * sizeof(T) > kKeepBytes) {
      s.buf.reset();
      s.size = 0;
    }
  }

 private:
  struct Slot {
    std::unique_ptr<T[]> buf;
    size_t size = 0;
  };
  static Slot& slot() {
    thread_local Slot s;
    return s;
  }
};

}  // namespace UNITRACK_ISA
}  // namespace cpu
}  // namespace unitrack
#endif  // UNITRACK_ISA_SKIP
