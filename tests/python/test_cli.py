"""The `pcct` command on user files and on the built-in gold workload."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest

import pcct
from pcct.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "pcct.cli", *args], capture_output=True, text=True)


def test_knn_on_npy_and_csv_matches_the_library(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    np.save(tmp_path / "x.npy", x)
    np.savetxt(tmp_path / "x.csv", x, delimiter=",")
    for src in ("x.npy", "x.csv"):
        out = tmp_path / f"ids_{src}.npy"
        dist = tmp_path / f"d_{src}.csv"
        assert main(["knn", "--coords", str(tmp_path / src), "--kernel", "matern32", "--lengthscale", "0.5",
                     "--inducing", "20", "--k", "7", "--predecessor", "--out", str(out), "--distances", str(dist),
                     "--quiet"]) == 0
        model = pcct.ResidualModel(x, pcct.kernels.Matern32(0.5), inducing_count=20, seed=0)
        ids, d = pcct.brute_force_knn(model, 7, predecessor_mode=True)
        np.testing.assert_array_equal(np.load(out), ids)
        np.testing.assert_allclose(np.loadtxt(dist, delimiter=","), d, rtol=1e-15)


def test_knn_euclidean_and_user_factors(tmp_path):
    x = np.random.default_rng(1).normal(size=(100, 2))
    np.save(tmp_path / "x.npy", x)
    assert main(["knn", "--coords", str(tmp_path / "x.npy"), "--k", "4", "--out", str(tmp_path / "e.csv"),
                 "--quiet"]) == 0
    ids = np.loadtxt(tmp_path / "e.csv", delimiter=",", dtype=np.int64)
    np.testing.assert_array_equal(ids, pcct.brute_force_knn(x, 4, return_distances=False))
    model = pcct.ResidualModel(x, pcct.kernels.RBF(0.3), inducing_count=10)
    np.save(tmp_path / "v.npy", model.v_matrix)
    np.save(tmp_path / "p.npy", model.p_diag)
    assert main(["knn", "--coords", str(tmp_path / "x.npy"), "--kernel", "rbf", "--lengthscale", "0.3",
                 "--v", str(tmp_path / "v.npy"), "--p", str(tmp_path / "p.npy"), "--k", "4",
                 "--out", str(tmp_path / "f.npy"), "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), pcct.brute_force_knn(model, 4, return_distances=False))


def test_unreadable_and_bad_files_give_clear_errors(tmp_path):
    r = run_cli("knn", "--coords", str(tmp_path / "missing.npy"), "--out", str(tmp_path / "o.npy"))
    assert r.returncode == 2 and "cannot read --coords" in r.stderr
    (tmp_path / "junk.npy").write_bytes(b"not a numpy file")
    r = run_cli("knn", "--coords", str(tmp_path / "junk.npy"), "--out", str(tmp_path / "o.npy"))
    assert r.returncode == 2 and "cannot read --coords" in r.stderr
    (tmp_path / "bad.csv").write_text("1,2\n3,oops\n")
    r = run_cli("knn", "--coords", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o.npy"))
    assert r.returncode == 2 and "cannot read --coords" in r.stderr
    np.save(tmp_path / "x.npy", np.array([[0.0, np.nan], [1.0, 2.0]]))
    r = run_cli("knn", "--coords", str(tmp_path / "x.npy"), "--k", "1", "--out", str(tmp_path / "o.npy"))
    assert r.returncode == 2 and "non-finite" in r.stderr
    np.save(tmp_path / "y.npy", np.ones((5, 2)))
    r = run_cli("knn", "--coords", str(tmp_path / "y.npy"), "--k", "9", "--out", str(tmp_path / "o.npy"))
    assert r.returncode == 2 and "exceeds the number of points" in r.stderr


def test_bad_output_names_are_refused_before_any_work(tmp_path):
    # A bad --distances name must not leave --out written (nor cost a build and the queries).
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(50, 2)))
    (tmp_path / "dir.npy").mkdir()
    x = str(tmp_path / "x.npy")
    out = tmp_path / "ids.npy"
    cases = [
        (["--out", str(out), "--distances", str(tmp_path / "d.xyz")], "cannot write --distances .*expected a .npy, .csv or .txt"),
        (["--out", str(tmp_path / "ids.dat")], "cannot write --out .*expected a .npy, .csv or .txt"),
        (["--out", str(tmp_path / "nodir" / "ids.npy")], "cannot write --out .*no directory"),
        (["--out", str(out), "--distances", str(out)], "--out and --distances name the same file"),
        (["--out", str(out), "--distances", str(tmp_path / "dir.npy")], "cannot write --distances .*it is a directory"),
        (["--out", str(tmp_path / "dir.npy"), "--distances", str(out)], "cannot write --out .*it is a directory"),
        # Checked before the other arguments (here a bad k) are used.
        (["--out", str(out), "--distances", str(tmp_path / "d.bad"), "--k", "0"], "cannot write --distances"),
    ]
    for extra, match in cases:
        k = [] if "--k" in extra else ["--k", "3"]
        r = run_cli("knn", "--coords", x, "--quiet", *k, *extra)
        assert r.returncode == 2, (extra, r.stderr)
        assert re.search(match, r.stderr), (extra, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not out.exists()
    r = run_cli("knn", "--coords", x, "--k", "3", "--quiet", "--out", str(tmp_path / "ids.txt"),
                "--distances", str(tmp_path / "d.NPY"))
    assert r.returncode == 0, r.stderr
    assert np.loadtxt(tmp_path / "ids.txt", delimiter=",").shape == (50, 3)
    assert np.load(tmp_path / "d.NPY").shape == (50, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.NPY", "dir.npy", "ids.txt", "x.npy"]  # no temporaries


def test_bench_gold_reduced_reports_recall_one():
    r = run_cli("bench", "gold", "--n", "4096", "--queries", "256", "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["recall"] == 1.0 and report["identical_to_brute_force"]
    assert report["queries"] == 256 and report["k"] == 50 and report["n"] == 4096
    for key in ("build_seconds", "build_v_seconds", "queries_per_second", "distance_evaluations_per_query",
                "peak_rss_mb"):
        assert report[key] > 0


def test_bench_gold_text_report_and_progress():
    r = run_cli("bench", "gold", "--n", "2048", "--queries", "64", "--k", "10")
    assert r.returncode == 0, r.stderr
    assert "recall vs brute force: 1.000" in r.stdout and "queries/s" in r.stdout
    assert "querying" in r.stderr  # progress shown unless --quiet


def test_knn_ids_from_csv_default_inducing_and_query_options(tmp_path):
    x = np.random.default_rng(2).normal(size=(120, 2))  # fewer than 512 points: inducing = N
    np.savetxt(tmp_path / "x.csv", x, delimiter=",")
    np.savetxt(tmp_path / "q.csv", np.array([5, 17, 99]), fmt="%d")
    np.savetxt(tmp_path / "ind.csv", np.arange(0, 120, 4), fmt="%d")
    assert main(["knn", "--coords", str(tmp_path / "x.csv"), "--kernel", "rbf", "--k", "3",
                 "--query-ids", str(tmp_path / "q.csv"), "--out", str(tmp_path / "a.npy"), "--quiet"]) == 0
    model = pcct.ResidualModel(x, pcct.kernels.RBF())
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"),
                                  pcct.brute_force_knn(model, 3, queries=[5, 17, 99], return_distances=False))
    assert main(["knn", "--coords", str(tmp_path / "x.csv"), "--kernel", "rbf", "--k", "3",
                 "--inducing-ids", str(tmp_path / "ind.csv"), "--out", str(tmp_path / "b.npy"), "--quiet"]) == 0
    model = pcct.ResidualModel(x, pcct.kernels.RBF(), inducing=np.arange(0, 120, 4))
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), pcct.brute_force_knn(model, 3, return_distances=False))
    # A single-row CSV is one point with D coordinates, not D points.
    np.savetxt(tmp_path / "one.csv", x[:1] + 0.01, delimiter=",")
    assert main(["knn", "--coords", str(tmp_path / "x.csv"), "--k", "2", "--query-coords", str(tmp_path / "one.csv"),
                 "--out", str(tmp_path / "c.csv"), "--quiet"]) == 0
    got = np.loadtxt(tmp_path / "c.csv", delimiter=",", ndmin=2)
    assert got.shape == (1, 2) and got[0, 0] == 0
    np.savetxt(tmp_path / "bad.csv", np.array([1.5, 2.0]))
    r = run_cli("knn", "--coords", str(tmp_path / "x.csv"), "--k", "2", "--query-ids", str(tmp_path / "bad.csv"),
                "--out", str(tmp_path / "d.npy"))
    assert r.returncode == 2 and "integer point ids" in r.stderr
    # No query ids: an empty (0, k) answer, not an error.
    np.save(tmp_path / "none.npy", np.zeros(0, dtype=np.int64))
    assert main(["knn", "--coords", str(tmp_path / "x.csv"), "--k", "2", "--query-ids", str(tmp_path / "none.npy"),
                 "--out", str(tmp_path / "e.npy"), "--quiet"]) == 0
    assert np.load(tmp_path / "e.npy").shape == (0, 2)


def test_query_ids_must_be_one_list_of_ids(tmp_path):
    x = np.random.default_rng(2).normal(size=(100, 2))
    np.save(tmp_path / "x.npy", x)
    out = str(tmp_path / "o.npy")
    # A 2-D ids file used to be read as coordinates (a silent wrong answer).
    np.save(tmp_path / "q2.npy", np.array([[3, 7], [1, 2]]))
    r = run_cli("knn", "--coords", str(tmp_path / "x.npy"), "--k", "3", "--query-ids", str(tmp_path / "q2.npy"),
                "--out", out)
    assert r.returncode == 2 and "--query-ids" in r.stderr and "1-D list" in r.stderr
    # One row or one column is a list of ids, in .npy and .csv alike.
    expect = pcct.brute_force_knn(x, 3, queries=[3, 7], return_distances=False)
    for name, arr in (("row.npy", np.array([[3, 7]])), ("col.npy", np.array([[3], [7]]))):
        np.save(tmp_path / name, arr)
        assert main(["knn", "--coords", str(tmp_path / "x.npy"), "--k", "3", "--query-ids", str(tmp_path / name),
                     "--out", out, "--quiet"]) == 0
        np.testing.assert_array_equal(np.load(out), expect)
    (tmp_path / "col.csv").write_text("3\n7\n")
    assert main(["knn", "--coords", str(tmp_path / "x.npy"), "--k", "3", "--query-ids", str(tmp_path / "col.csv"),
                 "--out", out, "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(out), expect)
    (tmp_path / "huge.csv").write_text("1e30\n")
    r = run_cli("knn", "--coords", str(tmp_path / "x.npy"), "--k", "3", "--query-ids", str(tmp_path / "huge.csv"),
                "--out", out)
    assert r.returncode == 2 and "integer point ids" in r.stderr and "Warning" not in r.stderr
    (tmp_path / "empty.csv").write_text("")
    r = run_cli("knn", "--coords", str(tmp_path / "empty.csv"), "--k", "3", "--out", out)
    assert r.returncode == 2 and "cannot read --coords" in r.stderr and "Warning" not in r.stderr
    # No query ids (an empty list, as an empty .npy gives): a (0, k) answer.
    r = run_cli("knn", "--coords", str(tmp_path / "x.npy"), "--k", "3", "--query-ids", str(tmp_path / "empty.csv"),
                "--out", out)
    assert r.returncode == 0 and "Warning" not in r.stderr, r.stderr
    assert np.load(out).shape == (0, 3)


@pytest.mark.parametrize("extra,match", [
    (["--inducing", "5"], "--inducing need --kernel"),
    (["--lengthscale", "0.1", "--seed", "3"], "--lengthscale, --seed need --kernel"),
    (["--variance", "2"], "--variance need --kernel"),
    (["--kernel", "rbf", "--inducing", "5", "--inducing-ids", "IDS"], "do not also give --inducing"),
    (["--kernel", "rbf", "--v", "V", "--p", "P", "--inducing", "5"], "not both"),
    (["--kernel", "rbf", "--v", "V"], "--v and --p must be given together"),
    (["--v", "V", "--p", "P"], "--v, --p need --kernel"),
    (["--kernel", "rbf", "--inducing-ids", "IDS", "--seed", "1"], "do not also give --seed"),
    (["--kernel", "rbf", "--v", "V", "--p", "P", "--inducing-ids", "IDS"], "not both"),
])
def test_options_that_would_be_ignored_are_errors(tmp_path, extra, match):
    x = np.random.default_rng(3).normal(size=(40, 2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "ids.npy", np.arange(5))
    paths = {"IDS": str(tmp_path / "ids.npy"), "V": str(tmp_path / "v.npy"), "P": str(tmp_path / "p.npy")}
    r = run_cli("knn", "--coords", str(tmp_path / "x.npy"), "--k", "3", "--out", str(tmp_path / "o.npy"),
                *[paths.get(a, a) for a in extra])
    assert r.returncode == 2, r.stderr
    assert match in r.stderr


def test_not_a_metric_warning_is_one_line(tmp_path):
    x = np.random.default_rng(4).normal(size=(40, 2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "v.npy", np.ones((40, 2)))  # |V_i|^2 = 2 > K_ii = 1
    np.save(tmp_path / "p.npy", np.ones(40))
    r = run_cli("knn", "--coords", str(tmp_path / "x.npy"), "--kernel", "rbf", "--v", str(tmp_path / "v.npy"),
                "--p", str(tmp_path / "p.npy"), "--k", "3", "--out", str(tmp_path / "o.npy"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("pcct: warning: these factors do not define a metric")
    assert r.stderr.count("\n") == 1


@pytest.mark.parametrize("extra,match", [
    (["--queries", "0"], "--queries must be a number of queries >= 1 or 'all'"),
    (["--queries", "x"], "--queries must be"),
    (["--repeats", "0"], "--repeats must be >= 1"),
    (["--n", "0"], "--n must be >= 1"),
    (["--k", "-1"], "--k must be >= 1"),
    (["--inducing", "201"], "--inducing (201) exceeds --n (200)"),
    (["--n", "100000000000", "--inducing", "5"], "out of memory (MemoryError: --n 100000000000 with --inducing 5 needs about"),
])
def test_bench_gold_bad_arguments(extra, match):
    r = run_cli("bench", "gold", "--n", "200", "--inducing", "20", "--quiet", *extra)
    assert r.returncode == 2 and match in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("extra,match", [
    (["--threads", "0"], "--threads must be >= 1, got 0"),
    (["--kernel", "rbf", "--inducing", "0"], "--inducing must be >= 1, got 0"),
    (["--k", "0"], "--k must be >= 1, got 0"),
    (["--k", "31"], "--k (31) exceeds the number of points (30)"),
    (["--base", "1"], "--base must be a finite number >= 1.01"),
    (["--kernel", "rbf", "--lengthscale", "-1"], "--lengthscale must be finite and > 0"),
    (["--kernel", "rbf", "--variance", "0"], "--variance must be > 0"),
    (["--kernel", "rbf", "--seed", "-1"], "--seed must be a non-negative integer, got -1"),
    (["--k", "3", "--predecessor", "--query-coords", "{x}"], "--predecessor needs queries given by point id"),
    (["--kernel", "rbf", "--inducing-ids", "{empty}"], "--inducing-ids must hold at least one point id"),
    (["--kernel", "rbf", "--algorithm", "kdtree"], "--algorithm kdtree is for the Euclidean metric"),
    (["--kernel", "rbf", "--v", "{v}", "--p", "{p3}"], "--p has 3 entries but --coords has 30 rows"),
    (["--query-ids", "{ids}", "--query-coords", "{x}"], "give --query-ids or --query-coords, not both"),
    (["--kernel", "rbf", "--lengthscale", "wide"], "--lengthscale must be a number or comma-separated numbers, got 'wide'"),
])
def test_knn_errors_name_the_option(tmp_path, extra, match):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(30, 2)))
    np.save(tmp_path / "v.npy", np.zeros((30, 2)))
    np.save(tmp_path / "p3.npy", np.ones(3))
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "ids.csv").write_text("1\n2\n")
    extra = [a.format(x=tmp_path / "x.npy", empty=tmp_path / "empty.csv", v=tmp_path / "v.npy",
                      p3=tmp_path / "p3.npy", ids=tmp_path / "ids.csv") for a in extra]
    r = run_cli("knn", "--coords", str(tmp_path / "x.npy"), "--out", str(tmp_path / "o.npy"), "--quiet", *extra)
    assert r.returncode == 2 and match in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_common_text_tables_are_read(tmp_path):
    # What spreadsheets, pandas and np.savetxt write: a header, a UTF-8 byte-order mark, blank
    # or whitespace-only lines, '#' comments, space or tab separators.
    x = np.random.default_rng(3).normal(size=(25, 2))
    want = pcct.brute_force_knn(x, 3, return_distances=False)
    body = "\n".join(f"{a:.17g},{b:.17g}" for a, b in x)
    np.savetxt(tmp_path / "spaces.txt", x, fmt="%.17g")  # np.savetxt's default: spaces
    files = {
        "header.csv": "x,y\n" + body + "\n",
        "bom.csv": "\ufeff" + body + "\n",
        "blank.csv": "# my points\n\n" + body.replace("\n", "\n   \n", 3) + "\n \t \n",
        "tabs.txt": body.replace(",", "\t") + "\n",
        "pandas.csv": ",".join(["a", "b"]) + "\r\n" + body.replace("\n", "\r\n") + "\r\n",
        "names.csv": "x-coord,y (m)\n" + body + "\n",
        "UPPER.CSV": "température,\"lat 2\"\n" + body + "\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for name in [*files, "spaces.txt"]:
        out = str(tmp_path / f"ids_{name}.npy")
        r = run_cli("knn", "--coords", str(tmp_path / name), "--k", "3", "--out", out, "--quiet")
        assert r.returncode == 0, (name, r.stderr)
        np.testing.assert_array_equal(np.load(out), want, err_msg=name)
    # A first line that is not a header of names is data: a typo or a missing value there is an
    # error naming the file's line, never a silently dropped point.
    bad = {"1.0,abc\n": "line 1, field 2: 'abc'", "O.5,O.2\n": "line 1, field 1: 'O.5'",
           "NA,NA\n": "line 1, field 1: 'NA'", "x\n": "line 1, field 1: 'x'", "e-5,2\n": "line 1, field 1: 'e-5'",
           "# points\n\nx,y\n" + body.split("\n")[0] + "\n1,abc\n": "line 5, field 2: 'abc'"}
    for first, message in bad.items():
        (tmp_path / "typo.csv").write_text(first + body + "\n")
        r = run_cli("knn", "--coords", str(tmp_path / "typo.csv"), "--k", "3", "--out", str(tmp_path / "o.npy"))
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (first, r.stderr)
    # An inline comment may hold a comma without turning a space-separated table into CSV.
    np.savetxt(tmp_path / "comment.txt", x, fmt="%.17g")
    text = (tmp_path / "comment.txt").read_text().split("\n", 1)
    (tmp_path / "comment.txt").write_text(text[0] + "  # first, second\n" + text[1])
    out = str(tmp_path / "ids_comment.npy")
    assert run_cli("knn", "--coords", str(tmp_path / "comment.txt"), "--k", "3", "--out", out).returncode == 0
    np.testing.assert_array_equal(np.load(out), want)
    # Query ids: a typo in the first line is an error too (a lost query otherwise).
    (tmp_path / "ids.csv").write_text("1O\n2\n3\n")
    r = run_cli("knn", "--coords", str(tmp_path / "header.csv"), "--query-ids", str(tmp_path / "ids.csv"), "--k", "3",
                "--out", str(tmp_path / "o.npy"))
    assert r.returncode == 2 and "line 1, field 1: '1O'" in r.stderr, r.stderr


def test_outputs_never_overwrite_inputs(tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).normal(size=(20, 2)))
    before = x.read_bytes()
    for option in ("--out", "--distances"):
        args = ["--out", str(tmp_path / "o.npy"), option, str(x)]
        r = run_cli("knn", "--coords", str(x), "--k", "2", *args)
        assert r.returncode == 2 and f"{option} would overwrite the input file of --coords" in r.stderr, r.stderr
    assert x.read_bytes() == before
    (tmp_path / "hard.npy").hardlink_to(x)  # the same file under another name
    r = run_cli("knn", "--coords", str(x), "--k", "2", "--out", str(tmp_path / "hard.npy"))
    assert r.returncode == 2 and "--out would overwrite the input file of --coords" in r.stderr, r.stderr
    assert x.read_bytes() == before


def test_file_errors_name_the_file_line_or_what_the_file_is(tmp_path):
    x = np.random.default_rng(0).normal(size=(10, 2))
    np.savez(tmp_path / "archive.npz", x=x)
    (tmp_path / "archive.npy").write_bytes((tmp_path / "archive.npz").read_bytes())
    np.savetxt(tmp_path / "table.npy", x, delimiter=",")
    cases = {
        "inf.csv": ("x,y\n1,2\n\n3,4\n5,inf\n", "inf.csv': line 5, field 2: inf is not a finite number"),
        "nan.txt": ("# c\n1 2\n3 nan\n", "nan.txt': line 3, field 2: nan is not a finite number"),
        "under.csv": ("1,2\n1_000,3\n", "line 2, field 1: '1_000' is not a number"),
        "header_only.csv": ("x,y\n", "header_only.csv': the file holds no data"),
        "archive.npy": (None, "archive.npy': not a NumPy .npy array file"),
        "table.npy": (None, "table.npy': not a NumPy .npy array file"),
    }
    for name, (text, message) in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        r = run_cli("knn", "--coords", str(tmp_path / name), "--k", "1", "--out", str(tmp_path / "o.npy"))
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (name, r.stderr)
    # Query files: the messages name the option, not the Python parameter.
    np.save(tmp_path / "x.npy", x)
    q = np.zeros((3, 2))
    q[1, 1] = np.nan
    np.save(tmp_path / "q_nan.npy", q)
    np.save(tmp_path / "q_wide.npy", np.zeros((3, 3)))
    np.save(tmp_path / "q_big.npy", np.array([2**63 + 5], dtype=np.uint64))
    for option, name, message in [("--query-coords", "q_nan.npy", "--query-coords contains a non-finite value"),
                                  ("--query-coords", "q_wide.npy", "--query-coords have 3 columns"),
                                  ("--query-ids", "q_big.npy", "--query-ids contains an id larger than int64")]:
        r = run_cli("knn", "--coords", str(tmp_path / "x.npy"), "--k", "1", option, str(tmp_path / name),
                    "--out", str(tmp_path / "o.npy"))
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (name, r.stderr)


def test_bench_gold_small_n_and_an_unwritable_report():
    # --inducing defaults to min(512, --n), as in pcct knn.
    r = run_cli("bench", "gold", "--n", "200", "--queries", "8", "--k", "3", "--quiet", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["inducing"] == 200
    with open("/dev/full", "w") as full:  # a full disk: an error line, no traceback
        r = subprocess.run([sys.executable, "-m", "pcct.cli", "bench", "gold", "--n", "200", "--queries", "8",
                            "--k", "3", "--quiet", "--json"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 2 and r.stderr.startswith("pcct: error:") and "Traceback" not in r.stderr, r.stderr


def test_outputs_go_through_links_keep_permissions_and_allow_long_names(tmp_path):
    import os
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).normal(size=(20, 2)))
    want = pcct.brute_force_knn(np.load(x), 2)[0]
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "ids.npy").write_bytes(b"")
    os.chmod(tmp_path / "real" / "ids.npy", 0o640)
    (tmp_path / "link.npy").symlink_to(tmp_path / "real" / "ids.npy")
    long_name = tmp_path / ("n" * 240 + ".csv")  # within NAME_MAX; a temporary name must fit too
    r = run_cli("knn", "--coords", str(x), "--k", "2", "--out", str(tmp_path / "link.npy"), "--distances",
                str(long_name), "--quiet")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "link.npy").is_symlink()  # written through the link, which stays
    np.testing.assert_array_equal(np.load(tmp_path / "real" / "ids.npy"), want)
    assert (os.stat(tmp_path / "real" / "ids.npy").st_mode & 0o777) == 0o640
    assert np.loadtxt(long_name, delimiter=",").shape == (20, 2)
    one_column = tmp_path / "c1.csv"  # a mistyped first number is not a header name
    one_column.write_text("e-5\n0.2\n0.3\n")
    r = run_cli("knn", "--coords", str(one_column), "--k", "1", "--out", str(tmp_path / "o.npy"))
    assert r.returncode == 2 and "line 1, field 1: 'e-5' is not a number" in r.stderr, r.stderr
