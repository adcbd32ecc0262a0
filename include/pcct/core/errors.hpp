#pragma once
/// Argument checking at API entry (never inside hot loops).
/// Errors are std::invalid_argument / std::out_of_range so that Python sees
/// ValueError / IndexError, and messages name the argument and its value.
#include <sstream>
#include <stdexcept>
#include <string>

namespace pcct::detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}
}  // namespace pcct::detail

/// Throw std::invalid_argument with the streamed message unless `cond` holds.
#define PCCT_REQUIRE(cond, ...)                                              \
  do {                                                                       \
    if (!(cond)) throw std::invalid_argument(::pcct::detail::concat(__VA_ARGS__)); \
  } while (0)

/// Throw std::out_of_range (Python: IndexError) unless `cond` holds.
#define PCCT_REQUIRE_RANGE(cond, ...)                                        \
  do {                                                                       \
    if (!(cond)) throw std::out_of_range(::pcct::detail::concat(__VA_ARGS__)); \
  } while (0)
