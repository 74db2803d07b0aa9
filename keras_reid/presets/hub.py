"""Downloading presets from the Hugging Face Hub through `huggingface_hub`.

Going through `hf_hub_download` gives users its cache, `HF_HUB_OFFLINE=1`,
`HF_ENDPOINT` (mirrors) and revision pinning for free.
"""

import os

from keras_reid.presets.errors import PresetDownloadError, PresetNotFoundError
from keras_reid.presets.preset_io import (
    CONFIG_FILE,
    METADATA_FILE,
    PREPROCESSOR_FILE,
    README_FILE,
    REFERENCE_FILE,
    WEIGHTS_FILE,
)


def parse_hf_handle(handle):
    """`hf://org/repo[@revision]` → `(repo_id, revision)`."""
    spec = handle[len("hf://") :]
    repo_id, _, revision = spec.partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PresetNotFoundError(
            f"Invalid Hub handle {handle!r}: expected hf://ORG/REPO or hf://ORG/REPO@REVISION."
        )
    return repo_id, revision or None


def download_preset(handle, force_download=False):
    """Downloads a preset's files into the Hugging Face cache; returns the local folder."""
    try:
        import huggingface_hub
        from huggingface_hub import errors as hf_errors
    except ImportError:  # pragma: no cover - a core dependency
        raise PresetDownloadError("Loading hf:// presets needs huggingface_hub: pip install huggingface_hub") from None

    repo_id, revision = parse_hf_handle(handle)

    def fetch(filename, optional=False):
        try:
            return huggingface_hub.hf_hub_download(
                repo_id, filename, revision=revision, force_download=force_download
            )
        except hf_errors.LocalEntryNotFoundError:
            # Before EntryNotFoundError: huggingface_hub derives it from that class.
            raise PresetDownloadError(
                f"Cannot download {handle} ({filename}): no network connection to the Hub and the "
                "file is not in the local cache. Connect, set HF_ENDPOINT to a mirror, or pass a "
                "local preset folder."
            ) from None
        except hf_errors.EntryNotFoundError:
            if optional:
                return None
            raise PresetNotFoundError(
                f"{handle} has no {filename}: it is not a keras_reid preset (see keras_reid.list_presets())."
            ) from None
        except hf_errors.RevisionNotFoundError:
            raise PresetNotFoundError(f"{handle}: revision {revision!r} does not exist.") from None
        except hf_errors.RepositoryNotFoundError:
            raise PresetNotFoundError(
                f"Hub repository {repo_id!r} was not found (or is private: log in with `hf auth login`)."
            ) from None
        except (OSError, ValueError) as e:
            if "offline" in str(e).lower() or "connect" in str(e).lower():
                raise PresetDownloadError(
                    f"Cannot download {handle} ({filename}): {str(e).splitlines()[0]}. "
                    "Connect, set HF_ENDPOINT to a mirror, or pass a local preset folder."
                ) from None
            raise

    metadata_path = fetch(METADATA_FILE)
    for name in (CONFIG_FILE, PREPROCESSOR_FILE, WEIGHTS_FILE):
        fetch(name)
    for name in (REFERENCE_FILE, README_FILE):
        fetch(name, optional=True)
    return os.path.dirname(metadata_path)
