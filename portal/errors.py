"""The one exception type for a request that Meridian's rules refuse.

Every app raises a subclass (`tickets.services.TicketError`, `contracts.services.ContractError`,
…), so that the API, the portal's forms and the support desk handle every refusal the same way
without knowing the apps: the message is a sentence for the person who asked, `field` names the
input it is about (when one is), and `status`/`code` say how the API answers it.
"""


class Refusal(Exception):
    """A request the rules refuse; `str(refusal)` says why, for the person who asked."""

    status: int = 400
    code: str = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
