#pragma once
/// The one abstraction every search algorithm implements (FAISS-style): a batch call that
/// returns a KnnResult. Implementations are templates over a metric policy.
///
/// Threading guarantees: knn() is const and may be called concurrently from several
/// threads; it parallelises internally over `KnnParams::n_threads` threads and its answer
/// is bit-identical for every thread count. Separate indexes may be built concurrently; an
/// index's insert() (tree indexes) must not run concurrently with any other call on it.
#include <memory>
#include <string>

#include "pcct/knn/knn_types.hpp"

namespace pcct {

class Index {
 public:
  virtual ~Index() = default;
  virtual index_t size() const = 0;
  virtual int dim() const = 0;
  virtual const char* metric_name() const = 0;
  virtual const char* algorithm_name() const = 0;
  /// Exact k nearest neighbours of the queries. Throws std::invalid_argument /
  /// std::out_of_range for bad parameters (k out of [1, N], ids out of range,
  /// predecessor mode with coordinate queries, ...).
  virtual KnnResult knn(const QuerySet& queries, const KnnParams& params) const = 0;
};

}  // namespace pcct
