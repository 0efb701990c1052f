"""Use cases: validate, write, audit and flush. The request owns the single commit."""


class ServiceError(ValueError):
    """A business rule refused the request; the message is safe to show to the user.

    ``field_errors`` maps form field names to messages, so a view can put each
    message beside the field it concerns.
    """

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class NotVisible(LookupError):
    """The record does not exist or the user may not see it; both look the same (404)."""


class Conflict(RuntimeError):
    """Someone else saved the record since the form was opened (optimistic locking)."""
