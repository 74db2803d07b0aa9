"""Executes the example notebooks top to bottom, in place, to refresh their committed outputs.

    python scripts/execute_notebooks.py                      # every examples/*.ipynb
    python scripts/execute_notebooks.py examples/02_*.ipynb  # some of them
    python scripts/execute_notebooks.py --check              # run them, write nothing

Each notebook runs with nbclient in a fresh `python3` kernel of this interpreter (install
the dev extra: `pip install -e ".[dev]"` brings nbclient, nbformat and ipykernel), with
its own folder as the working directory and KERAS_BACKEND=tensorflow unless set. A cell
error stops that notebook, leaves its file untouched and makes the script exit with 1.

The stored outputs are kept small and stable: execution timestamps are not recorded,
TensorFlow's C++ start-up log lines (written to the kernel's stderr with a time stamp and
a process id) are dropped, and pictures keep only their PNG (IPython stores a PIL image
as both PNG and JPEG).
"""

import argparse
import glob
import os
import re
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(REPO_ROOT, "examples")


# TensorFlow/absl start-up lines: "WARNING: All log messages before absl::InitializeLog() ...",
# "I0000 00:00:1795242656.886819   29681 port.cc:153] oneDNN custom operations ..." and the
# continuation line of the CPU-feature message.
_TF_STARTUP_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\]"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)


def clean_outputs(nb):
    """Drops TensorFlow start-up log lines and the JPEG copies of PNG pictures; returns `nb`."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                lines = [line for line in out.text.splitlines(True) if not _TF_STARTUP_LINE.match(line)]
                if not "".join(lines).strip():
                    continue
                out.text = "".join(lines)
            if "data" in out and "image/png" in out.data:
                out.data.pop("image/jpeg", None)
            outputs.append(out)
        # Merge consecutive stream outputs of the same name (what Jupyter shows anyway).
        merged = []
        for out in outputs:
            if merged and out.output_type == "stream" and merged[-1].output_type == "stream" and merged[-1].name == out.name:
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = merged
    return nb


def execute_notebook(path, timeout=600, kernel_name="python3"):
    """Runs the notebook at `path` and returns the executed `NotebookNode` (the file is not written).

    Raises `nbclient.exceptions.CellExecutionError` when a cell fails.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
        record_timing=False,
    )
    client.execute()
    return nb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: examples/*.ipynb)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    parser.add_argument("--check", action="store_true", help="execute but do not write the notebooks")
    args = parser.parse_args(argv)

    import nbformat
    from nbclient.exceptions import CellExecutionError

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    paths = args.notebooks or sorted(glob.glob(os.path.join(EXAMPLES, "*.ipynb")))
    if not paths:
        print(f"no notebook found in {EXAMPLES}", file=sys.stderr)
        return 1
    failed = []
    for path in paths:
        start = time.perf_counter()
        try:
            nb = execute_notebook(path, timeout=args.timeout, kernel_name=args.kernel)
        except CellExecutionError as e:
            failed.append(path)
            print(f"FAILED {path} after {time.perf_counter() - start:.1f} s:\n{e}", file=sys.stderr)
            continue
        elapsed = time.perf_counter() - start
        if not args.check:
            nbformat.write(clean_outputs(nb), path)
        print(f"{'ran' if args.check else 'executed'} {os.path.relpath(path, REPO_ROOT)} in {elapsed:.1f} s", flush=True)
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
