"""Domain errors: handlers turn each into a clear, translated message."""


class DomainError(Exception):
    """A rule said no. `code` picks the message shown to the person."""

    code = "error"

    def __init__(self, code: str | None = None, **params: object) -> None:
        self.code = code or self.code
        self.params = params
        super().__init__(self.code)


class NotFound(DomainError):
    code = "not_found"


class NotAllowed(DomainError):
    code = "not_allowed"
