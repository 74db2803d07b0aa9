"""Errors of preset resolution and loading: each says what is wrong and how to fix it."""


class PresetError(ValueError):
    """Base class of every preset loading error."""


class PresetNotFoundError(PresetError):
    """The handle names no built-in preset, folder, file or Hub repository."""


class PresetIntegrityError(PresetError):
    """A preset file is missing, truncated or altered (sha256 mismatch)."""


class PresetUnavailableError(PresetError):
    """A built-in preset whose weights must be produced by the user (conversion or training)."""


class PresetDownloadError(PresetError):
    """The Hub could not be reached and the file is not in the local cache."""
