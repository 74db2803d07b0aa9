"""Errors of preset resolution and loading: each says what is wrong and how to fix it."""


class PresetError(ValueError):
    """Base class of every preset loading error."""


class PresetNotFoundError(PresetError):
    """The handle names no built-in preset, folder, file or Hub repository."""


class PresetIntegrityError(PresetError):
    """A preset file is missing, truncated, altered (sha256 mismatch) or not a regular file inside the preset."""


class PresetFormatError(PresetError):
    """A preset file is malformed: wrong JSON type, unknown or missing field, value out of range, unsafe name."""


class PresetUnavailableError(PresetError):
    """A built-in preset whose weights must be produced by the user (conversion or training)."""


class PresetDownloadError(PresetError):
    """The Hub could not be reached (or did not answer in time) and the file is not in the local cache."""


class PresetUploadError(PresetError):
    """`upload_preset` refused an invalid preset, or the Hub could not be reached or refused the credentials."""


def json_type(value):
    """The JSON name of a parsed value's type, for messages ("array", "null", ...)."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
