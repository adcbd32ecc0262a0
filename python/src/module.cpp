// pcct._core: converts NumPy arrays to views, releases the GIL around C++ work, and
// converts results back. No algorithmic code lives here.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "pcct/knn/brute_force.hpp"
#include "pcct/tree/cover_tree.hpp"
#include "pcct/tree/kd_tree.hpp"
#include "pcct/model/residual_model.hpp"
#include "pcct/core/interrupt.hpp"
#include "pcct/core/simd_level.hpp"
#include "pcct/core/threads.hpp"
#include "release_gil.hpp"

namespace nb = nanobind;
using namespace nb::literals;
using pcct::index_t;

using F64Matrix = nb::ndarray<const double, nb::ndim<2>, nb::device::cpu>;
using F64Vector = nb::ndarray<const double, nb::ndim<1>, nb::device::cpu>;
using I64Vector = nb::ndarray<const std::int64_t, nb::ndim<1>, nb::device::cpu>;

namespace {

using pcct_python::ReleaseGil;

pcct::MatrixView view(const F64Matrix& a) {
  return {a.data(), static_cast<index_t>(a.shape(0)), static_cast<index_t>(a.shape(1)),
          static_cast<index_t>(a.stride(0)), static_cast<index_t>(a.stride(1))};
}
pcct::VectorView view(const F64Vector& a) {
  return {a.data(), static_cast<index_t>(a.shape(0)), static_cast<index_t>(a.stride(0))};
}
pcct::IdView view(const I64Vector& a) {
  return {a.data(), static_cast<index_t>(a.shape(0)), static_cast<index_t>(a.stride(0))};
}

// Hands a std::vector to NumPy without a copy (the capsule owns it).
template <class T>
nb::ndarray<nb::numpy, T> to_numpy(std::vector<T>&& v, std::initializer_list<size_t> shape) {
  auto* heap = new std::vector<T>(std::move(v));
  nb::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(heap->data(), shape, owner);
}

pcct::Kernel make_kernel(const std::string& type, double variance, const F64Vector& lengthscale) {
  pcct::Kernel k;
  k.type = pcct::parse_kernel_type(type);
  k.variance = variance;
  k.lengthscale.assign(lengthscale.shape(0), 0.0);
  for (size_t i = 0; i < lengthscale.shape(0); ++i) k.lengthscale[i] = lengthscale.data()[i * lengthscale.stride(0)];
  return k;
}

nb::dict stats_dict(pcct::KnnStats&& s) {
  nb::dict d;
  d["queries"] = s.queries;
  d["distance_evaluations"] = s.distance_evaluations;
  d["distance_evaluations_per_query"] =
      s.queries ? static_cast<double>(s.distance_evaluations) / static_cast<double>(s.queries) : 0.0;
  d["nodes_visited"] = s.nodes_visited;
  d["subtrees_pruned"] = s.subtrees_pruned;
  d["brute_force_queries"] = s.brute_force_queries;
  d["seed_evaluations"] = s.seed_evaluations;
  d["scan_queries"] = s.scan_queries;
  d["probe_evaluations"] = s.probe_evaluations;
  d["sampled_queries"] = s.sampled_queries;
  nb::dict by_level;
  for (auto [level, count] : s.evaluations_by_level) by_level[nb::int_(level)] = count;
  d["evaluations_by_level"] = by_level;
  const size_t n = s.evaluations_per_query.size();
  d["evaluations_per_query"] = to_numpy(std::move(s.evaluations_per_query), {n});
  return d;
}

// An index's lock: shared by every read of an index that insert() may be rebuilding, exclusive
// for insert(). Writers go first: an insert holds `gate` while it waits and runs, and every
// reader passes through `gate` before taking its shared hold, so a stream of queries from
// other threads cannot starve an insert (std::shared_mutex on glibc prefers readers: a review
// measured inserts of 1 ms waiting 0.85-4.6 s behind three querying threads).
struct IndexLock {
  std::mutex gate;
  std::shared_mutex rw;
  // True while an insert holds `gate` (from then on every new reader waits for it); read
  // without the lock, by a test that must know its reads will wait.
  std::atomic<bool> writer_in{false};
};

// Runs f() without the GIL and with a shared hold of the lock, and returns its result (a C++
// value: no Python objects). Ctrl-C stops it unless `quick` (a read of size or dimension).
template <class F>
auto read_locked(IndexLock& lock, F&& f, bool quick = false) {
  ReleaseGil release(!quick);
  { std::lock_guard<std::mutex> pass(lock.gate); }
  std::shared_lock<std::shared_mutex> guard(lock.rw);
  return f();
}

// Runs f() with the lock held exclusively; the caller has released the GIL.
template <class F>
void write_locked(IndexLock& lock, F&& f) {
  std::lock_guard<std::mutex> first(lock.gate);
  struct Flag {
    std::atomic<bool>& on;
    explicit Flag(std::atomic<bool>& f) : on(f) { on.store(true); }
    ~Flag() { on.store(false); }
  } flag(lock.writer_in);
  std::unique_lock<std::shared_mutex> guard(lock.rw);
  f();
}

struct PyIndex {
  std::shared_ptr<const pcct::Index> index;
  // knn/validate may run concurrently from Python threads; insert may not run with either
  // (pcct's threading guarantee), so it takes this lock exclusively. Taken with the GIL released.
  std::shared_ptr<IndexLock> lock = std::make_shared<IndexLock>();
  // Tree-only operations (empty for the brute force).
  std::function<nb::dict(int)> validate;
  std::function<nb::dict()> build_info;
  std::function<nb::dict()> arrays;
  // insert's metric-specific parts: which factors (v, p) new points may carry, and adding them.
  std::function<void(const std::optional<F64Matrix>&, const std::optional<F64Vector>&)> check_factors;
  std::function<void(const F64Matrix&, const std::optional<F64Matrix>&, const std::optional<F64Vector>&, int)>
      insert_rows;

  // 0 rows (a batch loop's empty last batch) is checked as any batch is, then nothing happens.
  void insert(const F64Matrix& coords, const std::optional<F64Matrix>& v, const std::optional<F64Vector>& p,
              int threads) const {
    pcct::detail::require_columns(view(coords), read_locked(*lock, [&] { return index->dim(); }, true), "points",
                                  "the index has");
    check_factors(v, p);
    if (coords.shape(0) > 0) {
      insert_rows(coords, v, p, threads);
    } else if (v) {
      PCCT_REQUIRE(v->shape(0) == 0 && p->shape(0) == 0, "v_matrix and p_diag must have 0 rows for 0 points, got ",
                   v->shape(0), " and ", p->shape(0));
    }
  }

  nb::tuple knn(const std::string& kind, std::optional<I64Vector> ids, std::optional<F64Matrix> coords,
                index_t k, bool predecessor, int n_threads) const {
    pcct::QuerySet qs;
    if (kind == "ids") {
      PCCT_REQUIRE(ids.has_value(), "knn(kind='ids') needs ids");
      qs = pcct::QuerySet::by_ids(view(*ids));
    } else if (kind == "coords") {
      PCCT_REQUIRE(coords.has_value(), "knn(kind='coords') needs coords");
      qs = pcct::QuerySet::by_coords(view(*coords));
    } else {
      PCCT_REQUIRE(kind == "all", "knn: kind must be 'ids', 'coords' or 'all', got '", kind, "'");
    }
    pcct::KnnParams params{k, predecessor, n_threads};
    pcct::KnnResult r = read_locked(*lock, [&] { return index->knn(qs, params); });
    const size_t q = static_cast<size_t>(r.queries), kk = static_cast<size_t>(r.k);
    return nb::make_tuple(to_numpy(std::move(r.ids), {q, kk}), to_numpy(std::move(r.distances), {q, kk}),
                          stats_dict(std::move(r.stats)));
  }
};

nb::dict info_dict(const pcct::CoverTreeBuildInfo& info) {
  nb::dict d;
  d["seconds"] = info.seconds;
  d["distance_evaluations"] = info.distance_evaluations;
  d["rounds"] = info.rounds;
  d["retries"] = info.retries;
  d["top_level"] = info.top_level;
  d["floor_level"] = info.floor_level;
  d["height"] = info.height;
  d["scan_top_centres"] = info.scan_top_centres;
  d["scan_centres"] = info.scan_centres;
  nb::list levels;
  for (const auto& l : info.levels) {
    nb::dict e;
    e["level"] = l.level;
    e["nodes"] = l.nodes;
    e["mean_radius"] = l.mean_radius;
    e["max_radius"] = l.max_radius;
    levels.append(e);
  }
  d["levels"] = levels;
  return d;
}

nb::dict validation_dict(const pcct::CoverTreeValidation& v) {
  nb::dict d;
  d["ok"] = v.ok;
  nb::list problems;
  for (const auto& p : v.problems) problems.append(p);
  d["problems"] = problems;
  d["nodes"] = v.nodes;
  d["distance_evaluations"] = v.distance_evaluations;
  return d;
}

// Points inserted into a Euclidean index: coordinates only.
void euclidean_factors(const std::optional<F64Matrix>& v, const std::optional<F64Vector>& p) {
  PCCT_REQUIRE(!v && !p, "v_matrix/p_diag only apply to the residual-correlation metric");
}

// embed: the space of inserted points (called after check_factors accepted their factors).
template <class Metric>
PyIndex wrap_tree(std::shared_ptr<pcct::CoverTreeIndex<Metric>> tree,
                  std::function<void(const std::optional<F64Matrix>&, const std::optional<F64Vector>&)> check_factors,
                  std::function<typename Metric::Space(const F64Matrix&, const std::optional<F64Matrix>&,
                                                       const std::optional<F64Vector>&, int)>
                      embed) {
  PyIndex out;
  out.check_factors = std::move(check_factors);
  out.index = tree;
  auto lock = out.lock;
  out.validate = [tree, lock](int threads) {
    return validation_dict(read_locked(*lock, [&] { return tree->validate(threads); }));
  };
  out.build_info = [tree, lock] { return info_dict(read_locked(*lock, [&] { return tree->build_info(); })); };
  out.arrays = [tree, lock] {
    auto a = read_locked(*lock, [&] { return tree->arrays(); });
    const size_t n = a.id.size();
    nb::dict d;
    d["id"] = to_numpy(std::move(a.id), {n});
    d["level"] = to_numpy(std::move(a.level), {n});
    d["parent"] = to_numpy(std::move(a.parent), {n});
    d["radius"] = to_numpy(std::move(a.radius), {n});
    return d;
  };
  // The new points are embedded (for the residual metric: kernel rows and a triangular solve)
  // without the GIL too; the caller's arrays stay alive for the whole call.
  out.insert_rows = [tree, embed, lock](const F64Matrix& coords, const std::optional<F64Matrix>& v,
                                        const std::optional<F64Vector>& p, int threads) {
    ReleaseGil release;
    auto pts = embed(coords, v, p, threads);
    write_locked(*lock, [&] { tree->insert(pts, threads); });
  };
  return out;
}

// algorithm: "auto" (brute force or either tree engine, whichever a sample finds cheaper),
// "tree" (the tree walk) or "scan" (the level scan).
pcct::CoverTreeParams tree_params(double base, int threads, const std::string& algorithm) {
  PCCT_REQUIRE(algorithm == "auto" || algorithm == "tree" || algorithm == "scan",
               "a cover-tree index has algorithm 'auto', 'tree' or 'scan', got '", algorithm, "'");
  pcct::CoverTreeParams p;
  p.base = base;
  p.n_threads = threads;
  p.auto_brute = algorithm == "auto";
  p.engine = algorithm == "scan" ? pcct::TreeEngine::scan : pcct::TreeEngine::walk;
  return p;
}

}  // namespace

NB_MODULE(_core, m) {
  m.attr("MAX_THREADS") = pcct::kMaxThreads;
  m.attr("MAX_KERNEL_VARIANCE") = pcct::Kernel::kMaxVariance;
  m.doc() = "pcct C++ core (exact cover-tree k-NN)";
  pcct_python::SigintWatch::init();
  // A call stopped by Ctrl-C (release_gil.hpp) raises KeyboardInterrupt.
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const pcct::Interrupted&) {
      pcct_python::raise_interrupted();
    }
  });
  m.def("simd_level", [] { return std::string(pcct::active_simd_level()); });
  m.def("default_threads", [] { return pcct::default_threads(); });

  nb::class_<pcct::ResidualModel>(m, "ResidualModel")
      .def_static(
          "from_inducing",
          [](const F64Matrix& coords, const std::string& kernel, double variance, const F64Vector& lengthscale,
             const I64Vector& inducing, int n_threads) {
            auto k = make_kernel(kernel, variance, lengthscale);
            ReleaseGil release;
            return std::make_shared<pcct::ResidualModel>(
                pcct::ResidualModel::from_inducing(view(coords), k, view(inducing), n_threads));
          },
          "coords"_a, "kernel"_a, "variance"_a, "lengthscale"_a, "inducing"_a, "n_threads"_a)
      .def_static(
          "from_factors",
          [](const F64Matrix& coords, const std::string& kernel, double variance, const F64Vector& lengthscale,
             const F64Matrix& v, const F64Vector& p) {
            auto k = make_kernel(kernel, variance, lengthscale);
            ReleaseGil release;
            return std::make_shared<pcct::ResidualModel>(
                pcct::ResidualModel::from_factors(view(coords), k, view(v), view(p)));
          },
          "coords"_a, "kernel"_a, "variance"_a, "lengthscale"_a, "v"_a, "p"_a)
      .def_prop_ro("size", &pcct::ResidualModel::size)
      .def_prop_ro("dim", &pcct::ResidualModel::dim)
      .def_prop_ro("rank", &pcct::ResidualModel::rank)
      .def_prop_ro("can_embed", &pcct::ResidualModel::can_embed)
      .def("inducing", [](const pcct::ResidualModel& m) {
        std::vector<index_t> ids = m.inducing();
        const size_t n = ids.size();
        return to_numpy(std::move(ids), {n});
      })
      .def("v", [](const pcct::ResidualModel& m) {
        const auto& s = m.space();
        std::vector<double> v(static_cast<size_t>(s.size()) * s.rank());
        for (index_t i = 0; i < s.size(); ++i)
          std::copy_n(s.v_row(i), s.rank(), v.data() + static_cast<size_t>(i) * s.rank());
        return to_numpy(std::move(v), {static_cast<size_t>(s.size()), static_cast<size_t>(s.rank())});
      })
      .def("p", [](const pcct::ResidualModel& m) {
        const auto& s = m.space();
        std::vector<double> p(s.size());
        for (index_t i = 0; i < s.size(); ++i) p[i] = s.p(i);
        return to_numpy(std::move(p), {static_cast<size_t>(s.size())});
      })
      .def("metric_problem",
           [](const pcct::ResidualModel& m) { return pcct::ResidualModel::metric_problem(m.space(), 0, m.size()); })
      .def(
          "pairwise",
          [](const pcct::ResidualModel& m, const I64Vector& a, const I64Vector& b) {
            // Distances between dataset points a[i] and b[j] (testing and diagnostics).
            const auto& s = m.space();
            for (size_t i = 0; i < a.shape(0); ++i)
              PCCT_REQUIRE_RANGE(a(i) >= 0 && a(i) < s.size(), "a: id ", a(i), " at position ", i,
                                 " is out of range [0, ", s.size(), ")");
            for (size_t j = 0; j < b.shape(0); ++j)
              PCCT_REQUIRE_RANGE(b(j) >= 0 && b(j) < s.size(), "b: id ", b(j), " at position ", j,
                                 " is out of range [0, ", s.size(), ")");
            std::vector<double> out(a.shape(0) * b.shape(0));
            std::vector<index_t> ia(a.shape(0)), ib(b.shape(0));
            for (size_t i = 0; i < ia.size(); ++i) ia[i] = a(i);
            for (size_t j = 0; j < ib.size(); ++j) ib[j] = b(j);
            {
              ReleaseGil release;
              pcct::ResidualSpace::Scratch scratch;
              for (size_t i = 0; i < ia.size(); ++i)
                s.evaluate(s, pcct::Rows::list(&ia[i], 1), pcct::Rows::list(ib.data(), static_cast<int>(ib.size())),
                           out.data() + i * ib.size(), nullptr, static_cast<index_t>(ib.size()), scratch);
            }
            return to_numpy(std::move(out), {ia.size(), ib.size()});
          },
          "a"_a, "b"_a);

  nb::class_<PyIndex>(m, "Index")
      .def_prop_ro("size", [](const PyIndex& i) { return read_locked(*i.lock, [&] { return i.index->size(); }, true); })
      .def_prop_ro("dim", [](const PyIndex& i) { return read_locked(*i.lock, [&] { return i.index->dim(); }, true); })
      .def_prop_ro("metric", [](const PyIndex& i) { return std::string(i.index->metric_name()); })
      .def_prop_ro("algorithm", [](const PyIndex& i) { return std::string(i.index->algorithm_name()); })
      .def("knn", &PyIndex::knn, "kind"_a, "ids"_a.none(), "coords"_a.none(), "k"_a, "predecessor"_a,
           "n_threads"_a)
      .def_prop_ro("is_tree", [](const PyIndex& i) { return static_cast<bool>(i.validate); })
      .def_prop_ro("has_build_info", [](const PyIndex& i) { return static_cast<bool>(i.build_info); })
      .def("validate", [](const PyIndex& i, int threads) { return i.validate(threads); }, "n_threads"_a)
      .def("build_info", [](const PyIndex& i) { return i.build_info(); })
      .def("tree_arrays", [](const PyIndex& i) { return i.arrays(); })
      .def("insert_holds_the_gate", [](const PyIndex& i) { return i.lock->writer_in.load(); })
      .def("insert", [](const PyIndex& i, const F64Matrix& coords, std::optional<F64Matrix> v,
                        std::optional<F64Vector> p, int threads) {
             PCCT_REQUIRE(i.insert_rows, "insert needs a tree index");
             i.insert(coords, v, p, threads);
           },
           "coords"_a, "v"_a.none(), "p"_a.none(), "n_threads"_a);

  m.def(
      "brute_force_euclidean",
      [](const F64Matrix& coords) {
        ReleaseGil release;
        auto space = pcct::EuclideanSpace::from_coords(view(coords), "coords");
        return PyIndex{std::make_shared<pcct::BruteForceIndex<pcct::EuclideanMetric>>(
            pcct::EuclideanMetric(std::move(space)))};
      },
      "coords"_a);
  m.def(
      "cover_tree_euclidean",
      [](const F64Matrix& coords, double base, int threads, const std::string& algorithm) {
        std::shared_ptr<pcct::CoverTreeIndex<pcct::EuclideanMetric>> tree;
        {
          ReleaseGil release;
          auto space = pcct::EuclideanSpace::from_coords(view(coords), "coords");
          tree = std::make_shared<pcct::CoverTreeIndex<pcct::EuclideanMetric>>(
              pcct::EuclideanMetric(std::move(space)), tree_params(base, threads, algorithm));
        }
        return wrap_tree<pcct::EuclideanMetric>(
            tree, euclidean_factors,
            [](const F64Matrix& c, const std::optional<F64Matrix>&, const std::optional<F64Vector>&, int) {
              return pcct::EuclideanSpace::from_coords(view(c), "points");
            });
      },
      "coords"_a, "base"_a, "n_threads"_a, "algorithm"_a);
  m.def(
      "kd_tree_euclidean",
      [](const F64Matrix& coords) {
        std::shared_ptr<pcct::KdTreeIndex> kd;
        {
          ReleaseGil release;
          auto space = pcct::EuclideanSpace::from_coords(view(coords), "coords");
          kd = std::make_shared<pcct::KdTreeIndex>(pcct::EuclideanMetric(std::move(space)));
        }
        PyIndex out;
        out.index = kd;
        auto lock = out.lock;
        out.validate = [kd, lock](int) {
          pcct::CoverTreeValidation v = read_locked(*lock, [&] {
            pcct::CoverTreeValidation r;
            r.problems = kd->validate();
            r.nodes = kd->size();
            return r;
          });
          v.ok = v.problems.empty();
          return validation_dict(v);
        };
        out.check_factors = euclidean_factors;
        out.insert_rows = [kd, lock](const F64Matrix& c, const std::optional<F64Matrix>&,
                                     const std::optional<F64Vector>&, int) {
          ReleaseGil release;
          auto pts = pcct::EuclideanSpace::from_coords(view(c), "points");
          write_locked(*lock, [&] { kd->insert(pts); });
        };
        return out;
      },
      "coords"_a);
  m.def(
      "cover_tree_residual",
      [](std::shared_ptr<pcct::ResidualModel> model, double base, int threads, const std::string& algorithm) {
        std::shared_ptr<pcct::CoverTreeIndex<pcct::ResidualMetric>> tree;
        {
          ReleaseGil release;
          tree = std::make_shared<pcct::CoverTreeIndex<pcct::ResidualMetric>>(pcct::ResidualMetric(model),
                                                                              tree_params(base, threads, algorithm));
        }
        auto check_factors = [model](const std::optional<F64Matrix>& v, const std::optional<F64Vector>& p) {
          if (!v && !p) return;
          PCCT_REQUIRE(v && p, "v_matrix and p_diag must be given together");
          // A model built from inducing points computes V and p of new points itself; the
          // caller's rows would mix two different factorisations (not a metric).
          PCCT_REQUIRE(!model->can_embed(),
                       "v_matrix/p_diag: this index's model was built from inducing points, which "
                       "give the inserted points' V rows and p; insert the coordinates only");
          PCCT_REQUIRE(v->shape(1) == static_cast<size_t>(model->rank()), "v_matrix has ", v->shape(1),
                       " columns but the index's V has rank ", model->rank());
        };
        return wrap_tree<pcct::ResidualMetric>(
            tree, check_factors,
            [model](const F64Matrix& c, const std::optional<F64Matrix>& v, const std::optional<F64Vector>& p,
                    int threads) {
              if (v) return pcct::ResidualModel::from_factors(view(c), model->kernel(), view(*v), view(*p)).space();
              return model->embed(view(c), threads, "points");
            });
      },
      "model"_a, "base"_a, "n_threads"_a, "algorithm"_a);
  m.def(
      "brute_force_residual",
      [](std::shared_ptr<pcct::ResidualModel> model) {
        return PyIndex{
            std::make_shared<pcct::BruteForceIndex<pcct::ResidualMetric>>(pcct::ResidualMetric(std::move(model)))};
      },
      "model"_a);
}
