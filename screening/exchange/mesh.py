"""The NHS MESH transport, over NHS England's own client (``mesh-client``).

MESH (Message Exchange for Social Care and Health) moves files between NHS mailboxes:
we send to the partner's mailbox id, list our inbox, download, and acknowledge (which
removes the message from our inbox). Messages carry our workflow id, a local id naming the
delivery (``screening.exchange.delivery.local_id``), and the kind (referral or update) as
the subject. Tracking our sent
messages says when the recipient downloaded one (``acknowledged``) or that it never will
(``failed``).

mesh-client's own retries are off: a failed send stays in linkwork's queue and is tried
again with backoff (``screening.exchange.delivery``), so a send is never repeated behind
the queue's back. Its errors become ``TransportError`` in words; the password and the
shared key are never in one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from screening.exchange.jose import MAX_FILE_BYTES
from screening.exchange.transport import (
    OTHER,
    RECIPIENT,
    REFUSED,
    UNREACHABLE,
    Incoming,
    TransportError,
)

# The workflow id our messages carry unless the setting says otherwise (a deployment
# registers its own with NHS England; mailboxes used by linkwork alone accept any).
DEFAULT_WORKFLOW_ID = "LINKWORK_SOCIAL_PRESCRIBING"

# MESH tracking statuses that mean the message will never be downloaded.
_NEVER = {"error", "expired", "undeliverable", "rejected"}


@dataclass(frozen=True)
class MeshConfig:
    url: str
    mailbox: str
    password: str = field(default="", repr=False)
    shared_key: str = field(default="", repr=False)
    client_cert: str = ""
    client_key: str = ""
    ca_cert: str = ""
    workflow_id: str = DEFAULT_WORKFLOW_ID
    timeout: float = 30.0


class MeshTransport:
    name = "mesh"

    def __init__(self, config: MeshConfig) -> None:
        self.config = config
        self._client: Any = None

    # -- the client ----------------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            from mesh_client import MeshClient

            cfg = self.config
            cert = (cfg.client_cert, cfg.client_key) if cfg.client_cert else None
            self._client = MeshClient(
                cfg.url,
                cfg.mailbox,
                cfg.password,
                shared_key=cfg.shared_key.encode("utf-8") if cfg.shared_key else None,
                cert=cert,
                verify=cfg.ca_cert or None,
                max_retries=0,
                timeout=cfg.timeout,
                application_name="linkwork",
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _error(self, exc: Exception, doing: str, to: str = "") -> TransportError:
        import requests
        from mesh_client import MeshError

        where = self.config.url
        if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
            return TransportError(
                f"the MESH server at {where} cannot be reached ({doing}): try again later",
                UNREACHABLE,
            )
        if isinstance(exc, MeshError):
            text = str(exc.args[0]) if exc.args else "refused"
            if "authentication" in text.lower():
                return self._refused(doing)
            if "unregistered" in text.lower() or "to address" in text.lower():
                return TransportError(
                    f"MESH does not know mailbox {to}: check the partner's mailbox id", RECIPIENT
                )
            return TransportError(f"MESH refused {doing}: {text}", OTHER)
        if isinstance(exc, requests.exceptions.HTTPError):
            code = exc.response.status_code if exc.response is not None else 0
            if code in (401, 403):
                return self._refused(doing)
            if code == 417 and to:
                return TransportError(
                    f"MESH does not know mailbox {to}: check the partner's mailbox id", RECIPIENT
                )
            if code >= 500:
                return TransportError(
                    f"the MESH server answered HTTP {code} ({doing}): try again later",
                    UNREACHABLE,
                )
            return TransportError(f"MESH answered HTTP {code} ({doing})", OTHER)
        if isinstance(exc, requests.exceptions.RequestException):
            return TransportError(f"MESH {doing} failed: {type(exc).__name__}", UNREACHABLE)
        raise exc

    def _refused(self, doing: str) -> TransportError:
        return TransportError(
            f"MESH refused our mailbox {self.config.mailbox} ({doing}): check its "
            "password and shared key (LINKWORK_MESH_PASSWORD, LINKWORK_MESH_SHARED_KEY)",
            REFUSED,
        )

    # -- the protocol --------------------------------------------------------------------

    def send(self, data: bytes, *, to: str, local_id: str, subject: str) -> str:
        try:
            return str(
                self.client.send_message(
                    to,
                    data,
                    workflow_id=self.config.workflow_id,
                    local_id=local_id,
                    subject=subject,
                    content_type="application/jose",
                )
            )
        except Exception as exc:
            raise self._error(exc, f"sending to {to}", to) from None

    def poll(self) -> Iterator[str]:
        try:
            ids = list(self.client.list_messages())
        except Exception as exc:
            raise self._error(exc, "listing our inbox") from None
        return iter(str(i) for i in ids)

    def fetch(self, message_id: str) -> Incoming:
        try:
            # Not ``with``: mesh-client's Message acknowledges itself when a with block ends,
            # and a message is acknowledged only after its import committed.
            message = self.client.retrieve_message(message_id)
            try:
                data = message.read(MAX_FILE_BYTES + 1)
                sender = str(message.sender or "")
            finally:
                message.close()
        except Exception as exc:
            raise self._error(exc, f"downloading message {message_id}") from None
        return Incoming(message_id, sender, bytes(data), self.name)

    def acknowledge(self, message_id: str) -> None:
        try:
            self.client.acknowledge_message(message_id)
        except Exception as exc:
            raise self._error(exc, f"acknowledging message {message_id}") from None

    def find(self, local_id: str) -> str | None:
        """The MESH message id of the message we sent with ``local_id``, or None when MESH
        has none: asked before trying again a message whose earlier try may have got
        through unrecorded. mesh-client tracks by message id only, so this is MESH's own
        "track outbox by local id" (``GET .../outbox/tracking/{localId}``, which the
        sandbox serves too) over the client's authenticated session."""
        from urllib.parse import quote

        client = self.client
        url = f"{client.mailbox_url}/outbox/tracking/{quote(local_id, safe='')}"
        try:
            response = client._session.get(url, timeout=self.config.timeout)
            if response.status_code == 404:
                return None
            if response.status_code == 300:
                return ""  # several already: it got through (more than once)
            response.raise_for_status()
            found = response.json()
        except Exception as exc:
            raise self._error(exc, f"looking up message {local_id}") from None
        return str(found.get("messageId") or found.get("message_id") or "")

    def waiting(self) -> int:
        """How many messages wait in our inbox: one small page of the inbox list, whose
        ``approx_inbox_count`` MESH gives beside the first ids (the length of the page when
        it does not)."""
        try:
            page = self.client._inbox_v2_page(params={"max_results": 10})
        except Exception as exc:
            raise self._error(exc, "counting our inbox") from None
        count = page.get("approx_inbox_count")
        return int(count) if count is not None else len(page.get("messages") or [])

    def track(self, message_id: str) -> tuple[str, str] | None:
        """``("acknowledged", "")`` once the recipient downloaded it, ``("failed", why)``
        when MESH says it never will be, None while it waits (or tracking is not there)."""
        try:
            found = self.client.track_message(message_id)
        except Exception as exc:
            raise self._error(exc, f"tracking message {message_id}") from None
        status = str(found.get("status") or "").lower()
        if status == "acknowledged":
            return "acknowledged", ""
        if status in _NEVER:
            why = str(found.get("status_description") or found.get("status") or status)
            return "failed", f"MESH says the message was not delivered: {why}"
        return None
