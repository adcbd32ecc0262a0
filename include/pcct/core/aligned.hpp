#pragma once
/// 64-byte aligned storage for rows that SIMD kernels stream. aligned_vector<double>(n) leaves
/// its elements uninitialised (not zeroed): the owner fills them.
#include <cstddef>
#include <new>
#include <utility>
#include <vector>

namespace pcct {

template <class T, std::size_t Align = 64>
struct AlignedAllocator {
  using value_type = T;
  template <class U>
  struct rebind { using other = AlignedAllocator<U, Align>; };
  AlignedAllocator() noexcept = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Align>&) noexcept {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(Align)));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(Align)); }
  // vector(n) default-initialises (doubles are not zeroed): the owner fills the storage, in
  // parallel, so its pages are first touched by several threads (gold V: 134 MB).
  template <class U>
  void construct(U* p) noexcept(noexcept(U())) { ::new (static_cast<void*>(p)) U; }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) { ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...); }
  template <class U>
  bool operator==(const AlignedAllocator<U, Align>&) const noexcept { return true; }
};

template <class T>
using aligned_vector = std::vector<T, AlignedAllocator<T>>;

}  // namespace pcct
