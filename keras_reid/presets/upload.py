"""Uploading presets to the Hugging Face Hub: `keras_reid.upload_preset`.

The preset is checked first (`keras_reid.conversion.publish`: sha256 of every file, the
reference embedding reproduced, model card, licence/source metadata); nothing is sent
unless it passes. The upload itself is `huggingface_hub.HfApi.create_repo` +
`upload_folder`, so `HF_ENDPOINT`, `HF_TOKEN` and `hf auth login` apply as usual.

Connecting gives up after min(`KERAS_REID_HUB_TIMEOUT`, 5 s) and a silent Hub after
`KERAS_REID_HUB_TIMEOUT` seconds (default 300 s for uploads: the Hub may take a while to
answer a commit). The first request (creating the repository) is not retried, so an
unreachable Hub fails at once with a `PresetUploadError`; a Hub lost after it answered is
retried by `huggingface_hub`'s own policy (the preupload request: 5 retries, ~23 s of waits).
"""

import contextlib
import os
import re

from keras_reid.presets.errors import PresetError, PresetNotFoundError, PresetUploadError
from keras_reid.presets.hub import (
    TIMEOUT_ENV,
    _first_line,
    _is_network_error,
    _is_timeout,
    _request_timeout,
    hub_timeouts,
    parse_hf_handle,
)

DEFAULT_UPLOAD_READ_TIMEOUT = 300.0
_EXPECTED = "expected hf://ORG/NAME or hf://ORG/NAME@BRANCH"
_COMMIT_SHA = re.compile(r"[0-9a-f]{40}")


def parse_upload_uri(uri):
    """`hf://ORG/NAME[@BRANCH]` → `(repo_id, branch or None)`; a one-line `ValueError` otherwise."""
    error = ValueError(f"Cannot upload to {uri!r}: {_EXPECTED}.")
    if not isinstance(uri, str) or not uri.startswith("hf://") or any(c.isspace() for c in uri) or uri.endswith("@"):
        raise error
    try:
        repo_id, revision = parse_hf_handle(uri)
    except PresetNotFoundError:
        raise error from None
    if revision is not None and _COMMIT_SHA.fullmatch(revision):
        raise ValueError(f"Cannot upload to {uri!r}: {revision} is a commit, not a branch; {_EXPECTED}.")
    return repo_id, revision


def _upload_timeouts():
    connect, read = hub_timeouts()  # validates KERAS_REID_HUB_TIMEOUT
    if not os.environ.get(TIMEOUT_ENV, "").strip():
        read = DEFAULT_UPLOAD_READ_TIMEOUT
    return connect, read


@contextlib.contextmanager
def _bounded_session(connect, read):
    """Gives `huggingface_hub`'s shared HTTP client connect/read timeouts for the upload.

    Its default client waits forever (`timeout=None`). Left alone when the user installed
    their own client factory, or on `huggingface_hub` versions without one.
    """
    try:
        from huggingface_hub.utils import _http
    except ImportError:  # pragma: no cover - a core dependency
        yield
        return
    default = getattr(_http, "default_client_factory", None)
    if default is None or getattr(_http, "_GLOBAL_CLIENT_FACTORY", None) is not default:
        yield
        return
    timeout = _request_timeout(connect, read)

    def factory():
        client = default()
        client.timeout = timeout
        return client

    _http.set_client_factory(factory)
    try:
        yield
    finally:
        _http.set_client_factory(default)


class _Watched:
    """Forwards to an `HfApi`, noting whether `publish` got as far as using it (validation passed)."""

    def __init__(self, api):
        self._api = api
        self.used = False

    def __getattr__(self, name):
        self.used = True
        return getattr(self._api, name)


def upload_preset(preset, uri, *, private=False, commit_message=None, token=None):
    """Uploads a preset folder to a Hugging Face Hub repository.

    The preset is verified before anything is sent (every file against its sha256, the
    stored reference embedding reproduced, the model card and the `license`/`source`/
    `architecture` metadata, as `python -m keras_reid.conversion verify` does): a truncated
    or altered file is refused with nothing uploaded. The repository is created if needed
    (an existing one gets a new commit with the files that changed), then the folder is
    committed. `HF_ENDPOINT` points `huggingface_hub` at a mirror or a private Hub.

    Args:
        preset: path of a preset folder (as written by `keras_reid.save_preset` or the
            conversion tool).
        uri: `"hf://ORG/NAME"`, or `"hf://ORG/NAME@BRANCH"` to commit to a branch
            (created from `main` if missing).
        private: create the repository private (an existing one keeps its visibility).
        commit_message: the commit's summary; defaults to "Upload keras_reid preset NAME".
        token: a Hub access token with write access; defaults to `HF_TOKEN` or the token
            saved by `hf auth login`.

    Returns:
        The `huggingface_hub.CommitInfo` of the commit: `.oid` (the commit sha),
        `.commit_url`, `.repo_url`.

    Raises:
        ValueError: `uri` is not `hf://ORG/NAME[@BRANCH]`.
        PresetUploadError: the preset is invalid (nothing sent), the Hub cannot be
            reached, or it refused the credentials.

    Example:

    ```python
    import keras_reid

    model = keras_reid.load("mobilenetv2_cuhk03")
    keras_reid.save_preset(model, "my_preset", metadata={
        "architecture": "mobilenetv2", "license": "mit", "source": "fine-tuned on my data"})
    info = keras_reid.upload_preset("my_preset", "hf://my-org/my-reid-model")
    model = keras_reid.load("hf://my-org/my-reid-model")
    ```
    """
    repo_id, revision = parse_upload_uri(uri)
    connect, read = _upload_timeouts()
    try:
        from huggingface_hub import HfApi
    except ImportError:  # pragma: no cover - a core dependency
        raise PresetUploadError("Uploading presets needs huggingface_hub: pip install huggingface_hub") from None
    from keras_reid.conversion.publish import publish

    api = _Watched(HfApi(token=token))
    endpoint = api._api.endpoint
    try:
        with _bounded_session(connect, read):
            plan = publish(
                os.fspath(preset),
                repo_id,
                revision=revision,
                private=private,
                commit_message=commit_message,
                api=api,
            )
    except PresetError:
        raise
    except Exception as e:
        if not api.used:
            if isinstance(e, ValueError):  # publish's validation: nothing was sent
                failures = [line[len("FAIL") :].strip() for line in str(e).splitlines() if line.startswith("FAIL")]
                reason = "; ".join(failures) or _first_line(e)
                raise PresetUploadError(
                    f"Refusing to upload {os.fspath(preset)}: it is not a valid preset ({reason}); nothing was "
                    "uploaded. Fix it (or re-save it), check it with `python -m keras_reid.conversion verify`, retry."
                ) from None
            raise
        converted = _upload_error(e, uri, endpoint, read)
        if converted is e:
            raise
        raise converted from None
    return plan["commit"]


def _upload_error(error, uri, endpoint, read):
    """A one-line `PresetUploadError` for a failure after the first request; the error itself otherwise."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status in (401, 403):
        return PresetUploadError(
            f"Cannot upload to {uri}: the Hub at {endpoint} refused the credentials (HTTP {status}). "
            "Log in with `hf auth login`, or pass token= / set HF_TOKEN to a token with write access to the "
            "organisation."
        )
    if _is_network_error(error):
        if _is_timeout(error):
            reason = f"no answer within {read:g} s; {TIMEOUT_ENV} sets the limit"
        else:
            reason = _first_line(error)
        return PresetUploadError(
            f"Cannot upload to {uri}: the Hub at {endpoint} cannot be reached ({reason}). "
            "Check the network connection, or HF_ENDPOINT if it points to a mirror."
        )
    if status is not None:
        return PresetUploadError(
            f"Cannot upload to {uri}: the Hub at {endpoint} answered HTTP {status}: {_first_line(error)}"
        )
    return error

