"""Cold-start time of the command line and of `import keras_reid` (issue 13).

    python benchmarks/cold_start.py [--runs 5]

Each command runs in a fresh process (`subprocess`, wall time, median of RUNS after one warm-up
run that fills the OS file cache). Writes benchmarks/results/cold_start.md.
"""

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

from common import cpu_model

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXE = shutil.which("keras-reid") or "keras-reid"
COMMANDS = [
    ("keras-reid --help", [EXE, "--help"], {}),
    ("python -c 'import keras_reid' (KERAS_BACKEND=jax)", [sys.executable, "-c", "import keras_reid"], {"KERAS_BACKEND": "jax"}),
    ("python -c 'import keras_reid; keras_reid.build' (jax: imports Keras)", [sys.executable, "-c", "import keras_reid; keras_reid.build"], {"KERAS_BACKEND": "jax"}),
    ("keras-reid list (tensorflow)", [EXE, "list"], {"KERAS_BACKEND": "tensorflow"}),
]


def wall(cmd, env, runs):
    full_env = dict(os.environ, **env)
    subprocess.run(cmd, capture_output=True, env=full_env, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, env=full_env, text=True)
        times.append(time.perf_counter() - start)
        if result.returncode:
            sys.exit(f"{cmd} failed: {result.stderr[-500:]}")
    return statistics.median(times), result.stderr.count("\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = [(label, *wall(cmd, env, args.runs)) for label, cmd, env in COMMANDS]
    lines = [
        "# Cold-start times (measured by this project)",
        "",
        f"Command: `python benchmarks/cold_start.py --runs {args.runs}` (fresh process each, median wall time).",
        "",
        "| command | seconds | stderr lines |",
        "|---|---:|---:|",
    ] + [f"| `{label}` | {t:.2f} | {n} |" for label, t, n in rows]
    lines += ["", f"Machine: {cpu_model()}, {os.cpu_count()} cores (load: other jobs may share the cores).", ""]
    text = "\n".join(lines)
    (ROOT / "benchmarks" / "results" / "cold_start.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
