"""The example notebooks run top to bottom without error and show their key outputs.

Each notebook is copied to a temporary folder and executed there with nbclient in a fresh
`python3` kernel (the committed files are not touched; refresh their outputs with
`python scripts/execute_notebooks.py`). Needs the dev extra (nbclient, nbformat, ipykernel).
"""

import os
import pathlib
import shutil
import sys

import pytest

nbformat = pytest.importorskip("nbformat", reason="the example tests need the dev extra: pip install -e '.[dev]'")
nbclient = pytest.importorskip("nbclient", reason="the example tests need the dev extra: pip install -e '.[dev]'")

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
CELL_TIMEOUT = 600

# notebook -> (texts that must appear in its outputs, minimum number of PNG pictures)
EXPECTED = {
    "01_embeddings_and_gallery_search.ipynb": (["embeddings: (12, 512) float32", "mAP ", "rank-1 "], 2),
    "02_fine_tune_on_a_folder_dataset.ipynb": (
        [
            "except the classifier layer(s)",  # keras_reid.load(..., num_classes=4) log line
            "trainable: 5 of",  # the frozen-backbone warm-up
            "probe loss",
            "mAP before",
            "max |embedding difference|",
        ],
        0,
    ),
    "03_attention_visualisation.ipynb": (
        ["features_17_mode_attention", "layer4_2/mode_attention", "ha3/hard_attn", "csa3"],
        7,
    ),
}


def _kernel_name():
    """The `python3` kernel: with ipykernel installed, jupyter_client provides it for this interpreter."""
    pytest.importorskip("ipykernel", reason="the example tests need the dev extra: pip install -e '.[dev]'")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:  # pragma: no cover - only with an unusual Jupyter set-up
        import subprocess

        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--user", "--name", "python3"], check=True)
    return "python3"


def _expected_texts(name):
    texts = list(EXPECTED[name][0])
    from keras_reid.presets import registry

    if registry.embedded_preset_dir("mobilenetv2_imagenet") is None and name.startswith("02_"):
        # The notebook falls back to a random mobilenetv2 and says so instead of the load log line.
        texts[0] = "NOTE: preset mobilenetv2_imagenet is not in this checkout"
    return texts


def _outputs(nb):
    texts, pngs, errors = [], 0, []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                texts.append(out.text)
            elif out.output_type == "error":
                errors.append(f"{out.ename}: {out.evalue}")
            else:
                data = out.get("data", {})
                texts.append(data.get("text/plain", ""))
                pngs += "image/png" in data
    return "".join(texts), pngs, errors


def test_every_notebook_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs(name, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "tensorflow"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    path = tmp_path / name
    shutil.copy(EXAMPLES / name, path)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # start from a clean notebook: only fresh outputs count
        if cell.cell_type == "code":
            cell.outputs = []
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name=_kernel_name(), resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError (with the traceback) on the first failing cell

    text, pngs, errors = _outputs(nb)
    assert not errors, errors
    for expected in _expected_texts(name):
        assert expected in text, f"{name}: {expected!r} not in the outputs"
    min_pngs = EXPECTED[name][1]
    assert pngs >= min_pngs, f"{name}: {pngs} PNG picture(s), expected at least {min_pngs}"
    assert not any(p.suffix == ".jpg" for p in tmp_path.rglob("*")), "a notebook left images in its folder"
