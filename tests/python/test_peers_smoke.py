"""The peer benchmark at a small scale, so the script cannot rot (no timing assertions)."""
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_peers_small_scale_runs_and_every_exact_engine_has_recall_one(tmp_path):
    out = tmp_path / "peers.json"
    r = subprocess.run([sys.executable, str(BENCH / "peers.py"), "--scale", "small", "--repeats", "1", "--json",
                        str(out)], capture_output=True, text=True, cwd=BENCH, timeout=600)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    for key in ("residual", "predecessor", "gpboost", "euclidean_d3", "euclidean_d8"):
        assert data[key], key
    names = [row[0] for row in data["residual"]]
    assert names[0].startswith("pcct auto")
    assert names[1:5] == ["pcct cover tree, level scan", "pcct cover tree, tree walk", "pcct brute force",
                          "NumPy + OpenBLAS brute force"]
    assert any(name.startswith("covertreex") for name in names)  # measured, or reported missing with why
    for row in data["residual"][:5]:  # engine, build, query, q/s, evals, recall, ratio
        assert row[5] == 1.0, row
    for row in data["predecessor"]:  # engine, query, q/s, evals, recall, identical to the brute force
        assert row[4] == 1.0 and row[5] in ("yes", "-"), row
    for key in ("euclidean_d3", "euclidean_d8"):
        for row in data[key]:
            if row[0].startswith("pcct") or "cKDTree" in row[0]:
                assert row[-1] == 1.0, row
    gp = {row[0]: row for row in data["gpboost"]}
    assert isinstance(gp["pcct"][1], float)
    assert any(name.startswith("GPBoost") for name in gp)  # timed, or reported as missing/failed with why


def test_small_calls_benchmark_runs_and_checks_every_engine():
    # The script itself exits non-zero if any engine's answer differs from the brute force's.
    r = subprocess.run([sys.executable, str(BENCH / "small_calls.py"), "--points", "3000", "--repeats", "1",
                        "--batch", "100"], capture_output=True, text=True, cwd=BENCH, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.startswith("| ") and " s |" in line]
    assert len(rows) == 8, r.stdout


def test_plots_smallest_size_writes_every_plot(tmp_path):
    r = subprocess.run([sys.executable, str(BENCH / "plots.py"), "--max-n", "4096", "--repeats", "1", "--out",
                        str(tmp_path)], capture_output=True, text=True, cwd=BENCH, timeout=600)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["euclidean_d3_build.png", "euclidean_d3_qps.png", "residual_build.png", "residual_qps.png",
                     "series.json"]
    data = json.loads((tmp_path / "series.json").read_text())
    assert [row["n"] for row in data["residual"]] == [4096] and data["missing_peers"] == {}
