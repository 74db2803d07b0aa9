"""`python -m conversion publish DIR --repo-id ORG/NAME`: validate, then upload to the Hugging Face Hub."""

import os

from keras_reid.presets.preset_io import sha256_file


def list_upload(directory):
    """`[(relative path, size, sha256)]` of every file that would be uploaded (sorted)."""
    files = []
    for root, _, names in os.walk(directory):
        for name in names:
            if name.startswith(".") or name.endswith(".tmp"):
                continue
            path = os.path.join(root, name)
            files.append((os.path.relpath(path, directory), os.path.getsize(path), sha256_file(path)))
    return sorted(files)


def publish(directory, repo_id, revision=None, private=False, dry_run=False, commit_message=None, api=None):
    """Validates `directory` (see `verify_preset`) and uploads it with `huggingface_hub`.

    `dry_run` only returns the plan. Raises `ValueError` when validation fails (nothing
    is uploaded). Returns a dict: repo_id, revision, private, files, and (after an
    upload) the commit info.
    """
    from .verify import verify_preset

    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"--repo-id must be ORG/NAME, got {repo_id!r}.")
    ok, lines = verify_preset(directory)
    if not ok:
        raise ValueError("refusing to publish an invalid preset:\n" + "\n".join(lines))
    plan = {
        "repo_id": repo_id,
        "revision": revision or "main",
        "private": bool(private),
        "files": list_upload(directory),
        "checks": lines,
    }
    if dry_run:
        return plan
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
    if revision and revision != "main":
        api.create_branch(repo_id=repo_id, branch=revision, repo_type="model", exist_ok=True)
    plan["commit"] = api.upload_folder(
        folder_path=os.fspath(directory),
        repo_id=repo_id,
        repo_type="model",
        revision=revision,
        commit_message=commit_message or f"Upload keras_reid preset {os.path.basename(os.path.normpath(directory))}",
        ignore_patterns=[".*", "*.tmp"],
    )
    return plan
