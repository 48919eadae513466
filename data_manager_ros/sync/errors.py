"""How an upload attempt failed decides what happens to the file."""


class RetryableError(Exception):
    """Try again later (network, 5xx, server restarting): backoff, never give up."""


class TerminalError(Exception):
    """The server will never accept this file as sent: move it to failed/."""


class UploadInterrupted(Exception):
    """The uploader is stopping; the upload resumes from the server's offset next time."""


class UploadGone(Exception):
    """The server no longer knows the upload (404/410): start a new one from byte 0."""
