"""SMS providers behind one small interface: `twilio` (the twilio package) and `console`.

A gateway sends one message, says after an attempt whose outcome is unknown (a timeout, a crashed
worker) whether the provider has it already, and tells how a message it accepted ended when its
delivery report never came. It knows nothing of the outbox or the database; errors come back as
GatewayError with the provider's code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.common.ids import new_id

log = logging.getLogger(__name__)
# Twilio accepts a validity period of 1 to 36,000 seconds.
MAX_VALIDITY_S = 36_000


@dataclass(frozen=True)
class Sent:
    sid: str
    status: str  # the outbox status it reaches: "sent" (accepted) or "delivered"


class GatewayError(Exception):
    """A send that did not go through: HTTP status, provider code, and whether the provider
    may have accepted it anyway (ambiguous: a read timeout, a dropped connection)."""

    def __init__(
        self,
        *,
        code: int | None = None,
        http_status: int | None = None,
        timeout: bool = False,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(f"sms gateway error code={code} http={http_status} timeout={timeout}")
        self.code = code
        self.http_status = http_status
        self.timeout = timeout
        self.ambiguous = ambiguous


class Gateway(Protocol):
    name: str
    sender: str

    def send(
        self,
        *,
        outbox_id: str,
        to: str,
        body: str,
        status_callback: str | None,
        validity_s: int | None,
    ) -> Sent:
        """Hand one message to the provider; raises GatewayError."""
        ...

    def find_sent(self, *, to: str, body: str, since: datetime) -> Sent | None:
        """The message with this recipient and text the provider accepted since `since`."""
        ...

    def fetch_status(self, *, sid: str) -> tuple[str, int | None] | None:
        """The provider's status and error code of the message `sid` (None: it cannot say)."""
        ...


class ConsoleGateway:
    """The default without credentials: the outbox row keeps the message; the log says it went.

    The log line names the outbox id and the size, never the number or the text.
    """

    name = "console"
    sender = "console"

    def send(
        self,
        *,
        outbox_id: str,
        to: str,
        body: str,
        status_callback: str | None,
        validity_s: int | None,
    ) -> Sent:
        log.info("sms.console outbox=%s chars=%d", outbox_id, len(body))
        return Sent(sid=f"console-{new_id()}", status="delivered")

    def find_sent(self, *, to: str, body: str, since: datetime) -> Sent | None:
        return None  # a console send cannot be half done

    def fetch_status(self, *, sid: str) -> tuple[str, int | None] | None:
        return None  # no delivery reports: the console cannot say more than its send did


class _BaseUrlHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending to a Twilio-compatible server instead of *.twilio.com."""

    def __init__(self, *, base_url: str | None, timeout: float, pool_size: int = 64) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url
        # Many worker threads share one client: keep a connection for each.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        assert self.session is not None
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if self.base_url:
            parts = urlsplit(url)
            url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, url, *args, **kwargs)


class TwilioGateway:
    """Twilio's Programmable Messaging through the `twilio` package's Client."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        api_base_url: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.sender = sender
        http_client = _BaseUrlHttpClient(base_url=api_base_url, timeout=timeout)
        # The SDK logs every request's parameters (numbers, text) at INFO: keep it quiet.
        http_client.logger.setLevel(logging.WARNING)
        self.client = Client(account_sid, auth_token, http_client=http_client)

    def _sender_params(self) -> dict[str, str]:
        if self.sender.startswith("MG"):
            return {"messaging_service_sid": self.sender}
        return {"from_": self.sender}

    def send(
        self,
        *,
        outbox_id: str,
        to: str,
        body: str,
        status_callback: str | None,
        validity_s: int | None,
    ) -> Sent:
        params: dict[str, Any] = {"to": to, "body": body, **self._sender_params()}
        if status_callback:
            params["status_callback"] = status_callback
        if validity_s:
            params["validity_period"] = max(1, min(validity_s, MAX_VALIDITY_S))
        with _mapped_errors():
            message = self.client.messages.create(**params)
        return Sent(sid=message.sid, status="sent")

    def find_sent(self, *, to: str, body: str, since: datetime) -> Sent | None:
        with _mapped_errors():
            messages = self.client.messages.list(to=to, limit=50)
        # Twilio's dates have whole seconds.
        floor = since - timedelta(seconds=2)
        for message in messages:
            created = message.date_created
            if message.body == body and (created is None or created >= floor):
                return Sent(sid=message.sid, status="sent")
        return None

    def fetch_status(self, *, sid: str) -> tuple[str, int | None] | None:
        try:
            with _mapped_errors():
                message = self.client.messages(sid).fetch()
        except GatewayError as error:
            if error.http_status == 404:
                return None  # not a message of this account (any more): nothing to learn
            raise
        return str(message.status or ""), message.error_code


class _mapped_errors:
    """Turn the SDK's and requests' exceptions into GatewayError."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            return False
        if isinstance(exc, TwilioRestException):
            raise GatewayError(code=exc.code, http_status=exc.status) from None
        if isinstance(exc, requests.ConnectTimeout):
            raise GatewayError(timeout=True) from None
        if isinstance(exc, requests.Timeout):
            # The request went out; Twilio may have accepted it before we stopped waiting.
            raise GatewayError(timeout=True, ambiguous=True) from None
        if isinstance(exc, requests.ConnectionError):
            raise GatewayError(ambiguous=not _refused(exc)) from None
        if isinstance(exc, TwilioException):
            # e.g. a list page that did not load: we know nothing, so assume the worst.
            raise GatewayError(ambiguous=True) from None
        return False


def _refused(exc: requests.ConnectionError) -> bool:
    """Whether the connection was never made (so nothing was sent)."""
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


def make_gateway(config: dict[str, Any]) -> Gateway:
    """The configured backend."""
    if config["SMS_BACKEND"] == "twilio":
        return TwilioGateway(
            account_sid=config["TWILIO_ACCOUNT_SID"],
            auth_token=config["TWILIO_AUTH_TOKEN"],
            sender=config["TWILIO_FROM"],
            api_base_url=config.get("TWILIO_API_BASE_URL"),
            timeout=config["SMS_SEND_TIMEOUT_S"],
        )
    return ConsoleGateway()
