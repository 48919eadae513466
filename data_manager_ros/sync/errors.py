"""How an upload attempt failed decides what happens to the file."""


class RetryableError(Exception):
    """Try again later (network, 5xx, server restarting): backoff, never give up.
    ``retry_after_s``: the server said when (``Retry-After``); the wait is at least that."""

    def __init__(self, message: str, retry_after_s: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ConnectionFailed(RetryableError):
    """No HTTP answer at all (refused, reset, timed out)."""


class ProtocolError(RetryableError):
    """The server answered something tus 1.0 does not allow; retried, since a server or a
    proxy in between may be fixed, and reported as what it is."""


class TerminalError(Exception):
    """The server will never accept this file as sent: move it to failed/."""


class UploadInterrupted(Exception):
    """The uploader is stopping; the upload resumes from the server's offset next time."""


class UploadGone(Exception):
    """The server no longer knows the upload (404/410): start a new one from byte 0."""
