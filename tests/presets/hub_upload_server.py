"""A local stand-in for the Hugging Face Hub's commit API, for upload tests.

A test double of the server side only: the client is the real `huggingface_hub`
(`HfApi.create_repo` + `upload_folder`), and the uploaded repositories are read back through
the real `olah` server (tests/presets/test_hub.py), which serves the same folder. It
implements just what `upload_folder` calls, as `huggingface_hub` 2.x sends it:

- `POST /api/repos/create` {name, organization, type?, private?/visibility?}: `git init -b main`
  at `<mirrors>/<type>s/<organization>/<name>` plus an empty initial commit (the Hub starts
  every repository with one); answers {"url"}, with a 409 when it exists;
- `GET /api/<type>s/<org>/<name>[/revision/<rev>]`: {id, sha, private} (`repo_info`);
- `POST /api/validate-yaml`: {"errors": [], "warnings": []} (the card is not checked here);
- `POST /api/<type>s/<org>/<name>/preupload/<rev>` {files: [{path, sample, size}]}: every file
  "regular" (no LFS), `oid` = the git blob sha of the file at `rev` when it exists, so the
  client skips unchanged files as it does against the Hub;
- `POST /api/<type>s/<org>/<name>/branch/<branch>` {startingPoint?}: a branch from `main`;
- `POST /api/<type>s/<org>/<name>/commit/<rev>`: NDJSON {"key": "header" | "file" |
  "deletedFile" | "deletedFolder", "value": ...}; the files are written into the work tree,
  then `git add -A && git commit`; answers {commitUrl, commitOid (the real git sha),
  pullRequestUrl}.

Every endpoint but validate-yaml wants `Authorization: Bearer <token>` (401 otherwise, with the
Hub's `X-Error-Message`). `requests` records every request (method, path, status) so that a
test can assert that none was made.
"""

import base64
import http.server
import json
import os
import pathlib
import re
import subprocess
import threading
import urllib.parse

_REPO_API = re.compile(r"^/api/(models|datasets|spaces)/([^/]+)/([^/]+)(?:/(preupload|commit|branch|revision)/(.+))?$")
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "hub-upload-server",
    "GIT_AUTHOR_EMAIL": "server@localhost",
    "GIT_COMMITTER_NAME": "hub-upload-server",
    "GIT_COMMITTER_EMAIL": "server@localhost",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class HttpError(Exception):
    def __init__(self, status, message, code=None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class HubUploadServer:
    """`with HubUploadServer(mirrors, token) as server:` serves `server.endpoint` until the block ends."""

    def __init__(self, mirrors, token, host="127.0.0.1"):
        self.mirrors = pathlib.Path(mirrors)
        self.token = token
        self.requests = []  # (method, path, status)
        self._lock = threading.Lock()  # one git operation at a time
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer._handle(self, "GET")

            def do_POST(self):
                outer._handle(self, "POST")

            def log_message(self, *args):  # quiet: requests are recorded instead
                pass

        self._httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self._httpd.daemon_threads = True
        self.endpoint = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread = None

    def __enter__(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)

    # ------------------------------------------------------------------ git

    def repo_path(self, repo_type, org, name):
        return self.mirrors / f"{repo_type}s" / org / name

    @staticmethod
    def _git(repo, *args, check=True):
        result = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", *args],
            cwd=repo,
            capture_output=True,
            text=True,
            env={**os.environ, **_GIT_ENV},
        )
        if check and result.returncode != 0:
            raise HttpError(500, f"git {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def _head(self, repo, revision):
        result = self._git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{revision}^{{commit}}", check=False)
        if result.returncode != 0:
            result = self._git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
        if result.returncode != 0:
            raise HttpError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return result.stdout.strip()

    # ------------------------------------------------------------- endpoints

    def _create(self, payload, base):
        name, org = payload.get("name"), payload.get("organization")
        if not name or not org:
            raise HttpError(400, "name and organization are required")
        repo_type = payload.get("type") or "model"
        repo = self.repo_path(repo_type, org, name)
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{base}/{prefix}{org}/{name}"
        if repo.exists():  # as the Hub: the url comes with the 409 (create_repo(exist_ok=True) reads it)
            return 409, {"error": f"You already created this {repo_type} repo", "url": url}
        repo.mkdir(parents=True)
        self._git(repo, "init", "-q", "-b", "main")
        private = bool(payload.get("private")) or payload.get("visibility") == "private"
        self._git(repo, "config", "hub.private", "true" if private else "false")
        self._git(repo, "commit", "-q", "--allow-empty", "-m", "initial commit")
        return 200, {"url": url}

    def _info(self, repo, repo_id, revision):
        private = self._git(repo, "config", "hub.private", check=False).stdout.strip() == "true"
        return 200, {"id": repo_id, "modelId": repo_id, "sha": self._head(repo, revision), "private": private}

    def _preupload(self, repo, revision, payload):
        self._head(repo, revision)
        files = []
        for item in payload.get("files", []):
            path = item["path"]
            blob = self._git(repo, "rev-parse", "--verify", "--quiet", f"{revision}:{path}", check=False)
            oid = blob.stdout.strip() if blob.returncode == 0 else None
            files.append({"path": path, "uploadMode": "regular", "shouldIgnore": False, "oid": oid})
        return 200, {"files": files, "commitOid": self._head(repo, revision)}

    def _branch(self, repo, branch, payload):
        if self._git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).returncode == 0:
            raise HttpError(409, f"Reference already exists: refs/heads/{branch}")
        start = self._head(repo, payload.get("startingPoint") or "main")
        self._git(repo, "branch", branch, start)
        return 200, {}

    @staticmethod
    def _safe_path(repo, path):
        parts = pathlib.PurePosixPath(path).parts
        if not parts or path.startswith("/") or ".." in parts or parts[0] == ".git":
            raise HttpError(400, f"Invalid path {path!r}")
        return repo.joinpath(*parts)

    def _commit(self, repo, repo_id, revision, body, base):
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HttpError(400, "The first line must be the commit header")
        header = lines[0]["value"]
        if self._git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{revision}", check=False).returncode:
            raise HttpError(404, f"Invalid rev id: {revision} (commits go to a branch)", "RevisionNotFound")
        head = self._head(repo, revision)
        if header.get("parentCommit") not in (None, head):
            raise HttpError(412, "A commit has happened since. Please refresh and try again.")
        self._git(repo, "checkout", "-q", "--force", revision)
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value", {})
            target = self._safe_path(repo, value.get("path", ""))
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HttpError(400, f"Unsupported encoding {value.get('encoding')!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(base64.b64decode(value["content"]))
            elif key in ("deletedFile", "deletedFolder"):
                self._git(repo, "rm", "-r", "-q", "--ignore-unmatch", "--", str(target.relative_to(repo)))
            else:  # lfsFile: this server never answers "lfs" to preupload
                raise HttpError(422, f"Unsupported operation {key!r}")
        self._git(repo, "add", "-A")
        message = header.get("summary") or "Upload"
        if header.get("description"):
            message += "\n\n" + header["description"]
        self._git(repo, "commit", "-q", "--allow-empty", "-m", message)
        oid = self._head(repo, revision)
        return 200, {"commitUrl": f"{base}/{repo_id}/commit/{oid}", "commitOid": oid, "pullRequestUrl": None}

    # -------------------------------------------------------------- dispatch

    def _handle(self, handler, method):
        status, payload, code = 500, {"error": "internal error"}, None
        path = urllib.parse.urlsplit(handler.path).path
        try:
            length = int(handler.headers.get("Content-Length") or 0)
            body = handler.rfile.read(length) if length else b""
            status, payload = self._route(handler, method, path, body)
        except HttpError as e:
            status, payload, code = e.status, {"error": e.message}, e.code
        except Exception as e:  # a bug here must show as a 500, not a hang
            status, payload = 500, {"error": f"{type(e).__name__}: {e}"}
        self.requests.append((method, path, status))
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        if status >= 400:
            one_line = " ".join(payload["error"].split()).encode("ascii", "replace").decode()
            handler.send_header("X-Error-Message", one_line)
            if code:
                handler.send_header("X-Error-Code", code)
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, handler, method, path, body):
        base = f"http://{handler.headers.get('Host')}"
        if method == "POST" and path == "/api/validate-yaml":
            return 200, {"errors": [], "warnings": []}
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            raise HttpError(401, "Invalid credentials in Authorization header")
        with self._lock:
            if method == "POST" and path == "/api/repos/create":
                return self._create(json.loads(body or b"{}"), base)
            match = _REPO_API.match(path)
            if not match:
                raise HttpError(404, f"No such endpoint: {method} {path}")
            kind, org, name, action, rest = match.groups()
            org, name = urllib.parse.unquote(org), urllib.parse.unquote(name)
            revision = urllib.parse.unquote(rest) if rest else "main"
            repo = self.repo_path(kind[:-1], org, name)
            if not (repo / ".git").is_dir():
                raise HttpError(404, "Repository not found", "RepoNotFound")
            repo_id = f"{org}/{name}"
            if method == "GET" and action in (None, "revision"):
                return self._info(repo, repo_id, revision)
            if method == "POST" and action == "preupload":
                return self._preupload(repo, revision, json.loads(body or b"{}"))
            if method == "POST" and action == "branch":
                return self._branch(repo, revision, json.loads(body or b"{}"))
            if method == "POST" and action == "commit":
                return self._commit(repo, repo_id, revision, body.decode(), base)
            raise HttpError(404, f"No such endpoint: {method} {path}")
