"""The run log: one CSV row per epoch (`<output>/log.csv`), truncated on resume to the epochs kept."""

import csv
import os

LOG_FILE = "log.csv"
LOG_COLUMNS = ("epoch", "phase", "lr", "loss", "mAP", "mINP", "rank1", "rank5", "rank10", "time_s")


def append_row(output_dir, row):
    """Appends one epoch's row (`LOG_COLUMNS`; floats written in full), the header first."""
    path = os.path.join(output_dir, LOG_FILE)
    new = not os.path.exists(path)
    with open(path, "a") as f:
        if new:
            f.write(",".join(LOG_COLUMNS) + "\n")
        f.write(",".join(_cell(row.get(c, "")) for c in LOG_COLUMNS) + "\n")


def _cell(value):
    return repr(value) if isinstance(value, float) else str(value)


def truncate_log(path, epochs_done):
    """Keeps the header and the rows of the first `epochs_done` epochs (a resumed run rewrites the rest)."""
    if not os.path.exists(path):
        return
    with open(path) as f:
        lines = f.read().splitlines()
    keep = lines[:1] + [l for l in lines[1:] if l and int(l.split(",")[0]) <= epochs_done]
    with open(path, "w") as f:
        f.write("\n".join(keep) + "\n")


def read_log(output_dir):
    """The per-epoch CSV log as a list of dicts (strings)."""
    with open(os.path.join(output_dir, LOG_FILE)) as f:
        return list(csv.DictReader(f))
