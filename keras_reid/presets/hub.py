"""Downloading presets from the Hugging Face Hub through `huggingface_hub`.

Going through `hf_hub_download` gives users its cache, `HF_HUB_OFFLINE=1`,
`HF_ENDPOINT` (mirrors) and revision pinning for free.

Every file is first asked for with one HEAD request bounded by `KERAS_REID_HUB_TIMEOUT`
and no retry: when the Hub is unreachable, offline or silent, the cache is used at once
(or a `PresetDownloadError` says the file is not there), instead of `huggingface_hub`'s
retries with growing timeouts (~24 s without a network, minutes against a server that
accepts connections and never answers).
"""

import contextlib
import importlib
import math
import os

from keras_reid.presets.errors import PresetDownloadError, PresetError, PresetFormatError, PresetNotFoundError
from keras_reid.presets.preset_io import (
    CONFIG_FILE,
    METADATA_FILE,
    PREPROCESSOR_FILE,
    README_FILE,
    REFERENCE_FILE,
    WEIGHTS_FILE,
    read_metadata,
    size_limit,
)

TIMEOUT_ENV = "KERAS_REID_HUB_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0


def hub_timeouts():
    """`(connect, read)` seconds for Hub requests.

    `KERAS_REID_HUB_TIMEOUT=SECONDS` bounds the wait for an answer (default 30 s);
    connecting gives up after min(SECONDS, 5 s).
    """
    value = os.environ.get(TIMEOUT_ENV, "").strip()
    if not value:
        return DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not (math.isfinite(seconds) and seconds > 0):
        raise PresetError(f"{TIMEOUT_ENV} must be a number of seconds above 0, got {value!r}: fix the variable.")
    return min(seconds, DEFAULT_CONNECT_TIMEOUT), seconds


def _request_timeout(connect, read):
    """A timeout with distinct connect/read limits for the HTTP client `huggingface_hub` uses."""
    try:
        from huggingface_hub.utils import get_session

        library = type(get_session()).__module__.partition(".")[0]
    except Exception:  # pragma: no cover - very old huggingface_hub
        return read
    if library in ("httpx", "httpx2"):
        return importlib.import_module(library).Timeout(read, connect=connect)
    if library == "requests":
        return (connect, read)
    return read


@contextlib.contextmanager
def _download_timeout(seconds):
    """Bounds `huggingface_hub`'s file transfers (it reads `HF_HUB_DOWNLOAD_TIMEOUT` at import) unless the user set it."""
    from huggingface_hub import constants

    if "HF_HUB_DOWNLOAD_TIMEOUT" in os.environ or not hasattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT"):
        yield
        return
    saved = constants.HF_HUB_DOWNLOAD_TIMEOUT
    constants.HF_HUB_DOWNLOAD_TIMEOUT = seconds
    try:
        yield
    finally:
        constants.HF_HUB_DOWNLOAD_TIMEOUT = saved


def parse_hf_handle(handle):
    """`hf://org/repo[@revision]` → `(repo_id, revision)`."""
    spec = handle[len("hf://") :]
    repo_id, _, revision = spec.partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PresetNotFoundError(
            f"Invalid Hub handle {handle!r}: expected hf://ORG/REPO or hf://ORG/REPO@REVISION."
        )
    return repo_id, revision or None


def _is_network_error(error):
    """True for a failure to reach the Hub (no answer), False for an answer (HTTP error, bad response)."""
    from huggingface_hub import errors as hf_errors

    answered = tuple(
        getattr(hf_errors, name) for name in ("HfHubHTTPError", "FileMetadataError") if hasattr(hf_errors, name)
    )
    if isinstance(error, answered):
        return False
    module = type(error).__module__.partition(".")[0]
    return isinstance(error, (OSError, TimeoutError)) or module in ("httpx", "httpx2", "requests", "urllib3")


def _is_timeout(error):
    """A request that got no answer in time (Python's, httpx's or requests' timeout errors)."""
    return isinstance(error, TimeoutError) or "timeout" in type(error).__name__.lower()


def _first_line(error):
    text = " ".join(str(error).split())
    return (text or type(error).__name__)[:200]


def download_preset(handle, force_download=False):
    """Downloads a preset's files into the Hugging Face cache; returns the local folder.

    `metadata.json` comes first and is checked (structure, file names, sizes) before
    any other file is fetched; then every file it records, `README.md` if present.
    """
    try:
        import huggingface_hub
        from huggingface_hub import errors as hf_errors
    except ImportError:  # pragma: no cover - a core dependency
        raise PresetDownloadError("Loading hf:// presets needs huggingface_hub: pip install huggingface_hub") from None

    repo_id, revision = parse_hf_handle(handle)
    connect, read = hub_timeouts()
    timeout = _request_timeout(connect, read)
    # Once the Hub failed to answer, the rest comes from the cache without asking again.
    unreachable = []

    def from_cache(filename, optional):
        try:
            return huggingface_hub.hf_hub_download(repo_id, filename, revision=revision, local_files_only=True)
        except hf_errors.LocalEntryNotFoundError:
            if optional:
                return None
            error = unreachable[0]
            if isinstance(error, getattr(hf_errors, "OfflineModeIsEnabled", ())):
                reason = "HF_HUB_OFFLINE is set"
            elif _is_timeout(error):
                reason = f"the Hub did not answer within {read:g} s; {TIMEOUT_ENV} sets the limit"
            else:
                reason = _first_line(error)
            raise PresetDownloadError(
                f"Cannot download {handle} ({filename}): no network connection to the Hub ({reason}) and the "
                "file is not in the local cache. Connect, set HF_ENDPOINT to a mirror, or pass a local preset folder."
            ) from None

    def probe(filename):
        """One bounded HEAD request: the file's size, None when unknown; raises on an HTTP error."""
        url = huggingface_hub.hf_hub_url(repo_id, filename, revision=revision)
        return huggingface_hub.get_hf_file_metadata(url, timeout=timeout).size

    def fetch(filename, optional=False):
        if force_download and unreachable:
            raise PresetDownloadError(
                f"Cannot download {handle} ({filename}) with force_download=True: the Hub does not answer "
                f"({_first_line(unreachable[0])}). Connect, or load without force_download to use the cache."
            )
        try:
            if not unreachable:
                try:
                    size = probe(filename)
                except Exception as e:
                    if not _is_network_error(e):
                        raise
                    unreachable.append(e)
                else:
                    # Refused before downloading: a hostile repository cannot fill the disk.
                    if size is not None and size > size_limit(filename):
                        raise PresetFormatError(
                            f"{handle}: {filename} is {size} bytes on the Hub, above the {size_limit(filename)} "
                            "bytes a preset file may take: do not load this preset."
                        )
            if unreachable:
                return from_cache(filename, optional)
            with _download_timeout(read):
                return huggingface_hub.hf_hub_download(
                    repo_id, filename, revision=revision, force_download=force_download, etag_timeout=read
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
        except PresetError:
            raise
        except Exception as e:
            if _is_network_error(e) or "offline" in str(e).lower() or "connect" in str(e).lower():
                raise PresetDownloadError(
                    f"Cannot download {handle} ({filename}): {_first_line(e)}. "
                    f"Connect, set HF_ENDPOINT to a mirror, raise {TIMEOUT_ENV} (now {read:g} s) on a slow link, "
                    "or pass a local preset folder."
                ) from None
            raise

    folder = os.path.dirname(fetch(METADATA_FILE))
    # Names are checked (relative, inside the preset, sizes bounded) before anything else is fetched.
    recorded = read_metadata(folder).get("files", {})
    required = [CONFIG_FILE, PREPROCESSOR_FILE, WEIGHTS_FILE]
    required += [name for name in recorded if name not in required]
    for name in required:
        fetch(name)
    for name in (REFERENCE_FILE, README_FILE):
        if name not in required:
            fetch(name, optional=True)
    return folder
