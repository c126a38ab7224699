"""The one exception type whose message is meant for the person who caused it."""


class UserError(Exception):
    """A mistake by the user (bad input, missing permission); its message is shown to them as is.

    ``key`` names the message in the bot's catalogue so adapters can show it in the chat's
    language; ``params`` fill its placeholders. ``str(error)`` is the English text.
    """

    def __init__(self, message: str, *, key: str = "", **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params = params
