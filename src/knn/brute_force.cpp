#include "pcct/knn/brute_force.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/parallel.hpp"
#include "pcct/knn/query_rows.hpp"
#include "pcct/knn/top_k.hpp"

namespace pcct {
namespace {

// A tile of 128 queries x 128 points: the point rows (512 KB of V at rank 512) stay in L2 while
// every query of the tile reads them, so V streams from memory once per 128 queries. Gold
// (1,024 queries, 2 threads, medians of 5): 16 x 256 took 0.385 s, 64 x 256 0.268 s, 128 x 256
// 0.24 s, 128 x 128 0.22 s, 256 x 128 0.22 s, 64 x 128 0.24 s, 128 x 64 0.225 s.
constexpr int kQueryTile = 128;
constexpr int kPointTile = 128;
// A query tile's heaps (tile x k neighbours per thread) stay within this budget: a large k
// shrinks the tile (down to one query) instead of the memory growing with k.
constexpr size_t kHeapBudget = size_t{8} << 20;

template <class Space>
struct ThreadScratch {
  typename Space::Scratch space;
  std::vector<double> dist;         // query tile x kPointTile
  std::vector<Neighbour> heaps;     // query tile x k
};

}  // namespace

template <class Space>
KnnResult brute_force_search(const Space& data, const Space& queries, std::span<const index_t> qrows,
                             std::span<const index_t> qids, const KnnParams& params,
                             std::span<const index_t> row_of_id) {
  const index_t nq = static_cast<index_t>(qrows.size());
  const index_t n = data.size();
  PCCT_REQUIRE(n >= 1, "the data have no points");
  // A public entry point (engines call it with checked arguments): its own arguments are
  // checked too, O(queries + points), so a caller's slip is an error, not an out-of-bounds read.
  PCCT_REQUIRE(params.k >= 1 && params.k < INT32_MAX, "k must be in [1, 2^31), got ", params.k);
  require_thread_count(params.n_threads);
  PCCT_REQUIRE(qids.size() == qrows.size(), "qids has ", qids.size(), " entries but qrows has ", qrows.size());
  PCCT_REQUIRE(queries.dim() == data.dim(), "queries have dimension ", queries.dim(), " but the data ", data.dim());
  if constexpr (requires { data.rank(); }) {
    PCCT_REQUIRE(queries.rank() == data.rank(), "queries have rank ", queries.rank(), " but the data ", data.rank());
    // Rows of another kernel or factorisation would give distances of no metric, silently.
    PCCT_REQUIRE(queries.kernel() == data.kernel() && queries.factorisation() == data.factorisation(),
                 "queries come from another kernel or factorisation than the data (embed them with the "
                 "data's model)");
  }
  for (index_t i = 0; i < nq; ++i)
    PCCT_REQUIRE_RANGE(qrows[i] >= 0 && qrows[i] < queries.size(), "query row ", qrows[i], " at position ", i,
                       " is out of range [0, ", queries.size(), ")");
  PCCT_REQUIRE(row_of_id.empty() || static_cast<index_t>(row_of_id.size()) == n, "row_of_id has ",
               row_of_id.size(), " entries for ", n, " points");
  for (size_t id = 0; id < row_of_id.size(); ++id)
    PCCT_REQUIRE_RANGE(row_of_id[id] >= 0 && row_of_id[id] < n && data.id(row_of_id[id]) == static_cast<index_t>(id),
                       "row_of_id[", id, "] = ", row_of_id[id], " is not the row holding id ", id);
  const int k = static_cast<int>(params.k);
  KnnResult res = make_result(nq, k);
  if (nq == 0) return res;

  const int threads = resolve_threads(params.n_threads);
  // Predecessor mode can bound the scan by the query id when ids are scanned in order: row r
  // holds id r, or row_of_id maps ids to rows (tiles are then lists of rows).
  bool rows_are_ids = true;
  for (index_t r = 0; r < n && rows_are_ids; ++r) rows_are_ids = data.id(r) == r;
  const bool by_id = !rows_are_ids && static_cast<index_t>(row_of_id.size()) == n;
  const bool id_ordered = rows_are_ids || by_id;  // column j of a tile starting at pb is id pb + j
  const int qtile = static_cast<int>(std::min<index_t>(
      nq, std::clamp<size_t>(kHeapBudget / (sizeof(Neighbour) * static_cast<size_t>(k)), 1, kQueryTile)));
  const index_t qtiles = (nq + qtile - 1) / qtile;
  // With few query tiles, also split the points into chunks (merged exactly afterwards), as
  // long as the chunks' answers stay within max(32 MB, twice the answer) (a huge k).
  index_t chunks = 1;
  if (qtiles < 4 * threads) {
    const index_t max_chunks = (n + kPointTile - 1) / kPointTile;
    const size_t answer_bytes = sizeof(Neighbour) * static_cast<size_t>(nq) * static_cast<size_t>(k);
    const size_t partial_budget = std::max<size_t>(size_t{32} << 20, 2 * answer_bytes);
    chunks = std::min<index_t>({max_chunks, (4 * threads + qtiles - 1) / qtiles,
                                static_cast<index_t>(std::max<size_t>(1, partial_budget / answer_bytes))});
  }
  // Scratch (a query tile's heaps: up to 8 MB) only for the threads that get work.
  const int workers = static_cast<int>(std::min<index_t>(threads, qtiles * chunks));
  const index_t chunk_size = ((n + chunks - 1) / chunks + kPointTile - 1) / kPointTile * kPointTile;
  std::vector<Neighbour> partial(chunks > 1 ? static_cast<size_t>(chunks) * nq * k : 0);
  // Evaluations per (chunk, query): each slot is written by the one item that owns it.
  std::vector<std::int64_t> evals(static_cast<size_t>(chunks) * nq, 0);

  std::vector<ThreadScratch<Space>> scratch(workers);
  for (auto& s : scratch) {
    s.dist.resize(static_cast<size_t>(qtile) * kPointTile);
    s.heaps.resize(static_cast<size_t>(qtile) * k);
  }

  parallel_for(qtiles * chunks, workers, [&](index_t item, int tid) {
    auto& sc = scratch[tid];
    const index_t qt = item / chunks, c = item % chunks;
    const index_t q0 = qt * qtile;
    const int nqt = static_cast<int>(std::min<index_t>(qtile, nq - q0));
    const index_t p_begin = c * chunk_size;
    index_t p_end = std::min(n, p_begin + chunk_size);
    if (params.predecessor && id_ordered) {
      index_t max_id = 0;
      for (int i = 0; i < nqt; ++i) max_id = std::max(max_id, qids[q0 + i]);
      p_end = std::min(p_end, max_id);
    }
    TopK heaps[kQueryTile];
    for (int i = 0; i < nqt; ++i) heaps[i] = TopK(sc.heaps.data() + static_cast<size_t>(i) * k, k);
    for (index_t pb = p_begin; pb < p_end; pb += kPointTile) {
      const int np = static_cast<int>(std::min<index_t>(kPointTile, p_end - pb));
      const Rows points = by_id ? Rows::list(row_of_id.data() + pb, np) : Rows::range(pb, np);
      data.evaluate(queries, Rows::list(qrows.data() + q0, nqt), points, sc.dist.data(), nullptr, kPointTile,
                    sc.space);
      for (int i = 0; i < nqt; ++i) {
        const double* row = sc.dist.data() + static_cast<size_t>(i) * kPointTile;
        TopK& h = heaps[i];
        // Predecessor mode admits ids < qid: a prefix of the tile when columns are in id order.
        const index_t qid = params.predecessor ? qids[q0 + i] : std::numeric_limits<index_t>::max();
        const int limit = params.predecessor && id_ordered ? static_cast<int>(std::clamp<index_t>(qid - pb, 0, np)) : np;
        // Most pairs are farther than the k-th distance: eight at a time are tested against a
        // local copy of the bound (a vector compare), and only a group holding a candidate is
        // offered pair by pair, exactly as before (the copy is refreshed after each push).
        double t = h.bound();
        for (int j0 = 0; j0 < limit; j0 += 8) {
          if (j0 + 8 <= limit) {
            bool any = false;
            for (int j = j0; j < j0 + 8; ++j) any |= row[j] <= t;
            if (!any) continue;
          }
          for (int j = j0; j < std::min(limit, j0 + 8); ++j) {
            const index_t id = by_id ? pb + j : data.id(pb + j);
            if (id < qid && row[j] <= t) {
              h.push(row[j], id);
              t = h.bound();
            }
          }
        }
        evals[static_cast<size_t>(c) * nq + q0 + i] += np;
      }
    }
    for (int i = 0; i < nqt; ++i) {
      if (chunks == 1) {
        const size_t off = static_cast<size_t>(q0 + i) * k;
        heaps[i].write_sorted(res.ids.data() + off, res.distances.data() + off);
      } else {
        heaps[i].write_sorted(partial.data() + (static_cast<size_t>(c) * nq + q0 + i) * k);
      }
    }
  });

  for (index_t c = 0; c < chunks; ++c)
    for (index_t q = 0; q < nq; ++q) res.stats.evaluations_per_query[q] += evals[static_cast<size_t>(c) * nq + q];
  if (chunks > 1) {
    std::vector<std::vector<Neighbour>> merge(threads);
    parallel_for(nq, threads, [&](index_t q, int tid) {
      std::vector<Neighbour>& all = merge[tid];
      all.clear();
      for (index_t c = 0; c < chunks; ++c) {
        const Neighbour* src = partial.data() + (static_cast<size_t>(c) * nq + q) * k;
        for (int j = 0; j < k; ++j)
          if (src[j].id >= 0) all.push_back(src[j]);
      }
      const size_t keep = std::min<size_t>(k, all.size());
      std::partial_sort(all.begin(), all.begin() + keep, all.end());
      const size_t off = static_cast<size_t>(q) * k;
      for (int j = 0; j < k; ++j) {
        const bool have = static_cast<size_t>(j) < keep;
        res.ids[off + j] = have ? all[j].id : -1;
        res.distances[off + j] = have ? all[j].dist : std::numeric_limits<double>::infinity();
      }
    });
  }
  total_evaluations(res.stats);
  res.stats.brute_force_queries = nq;
  return res;
}

template <class Metric>
KnnResult BruteForceIndex<Metric>::knn(const QuerySet& queries, const KnnParams& params) const {
  auto q = resolve_queries(metric_, queries, params);
  const auto& qspace = q.external ? *q.external : metric_.space();
  // Dataset queries are rows of the original-order space (row == id); new points are rows
  // 0..n-1 of their own space.
  std::vector<index_t> rows(q.count());
  for (index_t i = 0; i < q.count(); ++i) rows[i] = q.external ? i : q.ids[i];
  return brute_force_search(metric_.space(), qspace, rows, q.ids, params);
}

template KnnResult brute_force_search<EuclideanSpace>(const EuclideanSpace&, const EuclideanSpace&,
                                                      std::span<const index_t>, std::span<const index_t>,
                                                      const KnnParams&, std::span<const index_t>);
template KnnResult brute_force_search<ResidualSpace>(const ResidualSpace&, const ResidualSpace&,
                                                     std::span<const index_t>, std::span<const index_t>,
                                                     const KnnParams&, std::span<const index_t>);
template class BruteForceIndex<EuclideanMetric>;
template class BruteForceIndex<ResidualMetric>;

}  // namespace pcct
