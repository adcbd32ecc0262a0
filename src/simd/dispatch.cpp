#include "simd/dispatch.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace pcct::simd {
namespace {

bool cpu_supports(Level level) {
  switch (level) {
    case Level::scalar: return true;
    case Level::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Level::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("fma");
  }
  return false;
}

const Table& choose() {
  if (const char* forced = std::getenv("PCCT_SIMD"); forced && *forced) {
    const std::string name(forced);
    Level level = Level::scalar;
    if (name == "avx512") level = Level::avx512;
    else if (name == "avx2") level = Level::avx2;
    else if (name != "scalar")
      throw std::invalid_argument("PCCT_SIMD must be scalar, avx2 or avx512, got '" + name + "'");
    if (const Table* t = table_for(level)) return *t;
    throw std::invalid_argument("PCCT_SIMD=" + name + " is not supported by this CPU");
  }
  if (const Table* t = table_for(Level::avx512)) return *t;
  if (const Table* t = table_for(Level::avx2)) return *t;
  return table_scalar();
}

}  // namespace

const char* level_name(Level level) {
  switch (level) {
    case Level::scalar: return "scalar";
    case Level::avx2: return "avx2";
    case Level::avx512: return "avx512";
  }
  return "?";
}

const Table* table_for(Level level) {
  if (!cpu_supports(level)) return nullptr;
  switch (level) {
    case Level::scalar: return &table_scalar();
    case Level::avx2: return &table_avx2();
    case Level::avx512: return &table_avx512();
  }
  return nullptr;
}

const Table& scalar_table() { return table_scalar(); }

const Table& table() {
  static const Table& chosen = choose();
  return chosen;
}

}  // namespace pcct::simd

namespace pcct {
const char* active_simd_level() { return simd::table().name; }
}  // namespace pcct
