"""User-facing errors: each carries a one-line message and maps to exit code 2."""


class DitasError(Exception):
    """Base class of errors caused by bad input; the CLI prints them in one line."""


class ConfigError(DitasError):
    """Invalid configuration key or value."""


class InputError(DitasError):
    """A missing, unreadable or unsuitable input file or argument."""


class DataError(DitasError):
    """A dataset that is missing or empty after filtering."""
