#pragma once
// What a tree validator found: the first few problems and the work it did.
#include <cstdint>
#include <string>
#include <vector>

namespace pcct::tree {

struct ValidationReport {
  bool ok = true;
  std::vector<std::string> problems;  // the first few
  std::int64_t nodes = 0;
  std::int64_t distance_evaluations = 0;

  void fail(const std::string& what) {
    ok = false;
    if (problems.size() < 20) problems.push_back(what);
  }
};

}  // namespace pcct::tree
