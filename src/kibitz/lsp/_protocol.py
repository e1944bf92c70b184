"""The JSON-RPC layer: a request whose parameters cannot be read gets an error answer, not silence.

pygls turns parameters it cannot structure into an exception raised while the message is read, which it
only logs: the client would wait for an answer forever. Here such a request becomes a stand-in message
that is answered with "invalid params" and the reason.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from dataclasses import dataclass
from typing import Any

from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """A request whose parameters did not fit its method's type."""

    id: int | str
    method: str
    error: JsonRpcException
    jsonrpc: str = "2.0"


class KibitzProtocol(LanguageServerProtocol):
    """LSP over JSON-RPC, answering malformed requests with errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writing: set[asyncio.Future[Any]] = set()

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Structure a message; a request whose parameters do not fit becomes an ``_Unreadable``."""
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            request_id = data.get("id")
            if "method" in data and isinstance(request_id, (int, str)) and not isinstance(request_id, bool):
                reason = error.__cause__ or error
                invalid = JsonRpcInvalidParams(f"invalid parameters for {data['method']}: {reason}")
                return _Unreadable(request_id, str(data["method"]), invalid)
            raise

    def handle_message(self, message: Any) -> None:
        """Answer an unreadable request with its error; hand everything else to pygls."""
        if isinstance(message, _Unreadable):
            self._send_response(message.id, None, message.error.to_response_error())
            return
        super().handle_message(message)

    def plain(self, value: Any) -> Any:
        """Return a protocol object as the JSON values it is sent as."""
        return self._converter.unstructure(value)

    def notify_json(self, method: str, params: str) -> None:
        """Send a notification whose parameters are JSON text already.

        For publications made of parts kept as JSON (see ``_publication``): pygls would take typed objects
        only to convert them again. Framed as pygls frames what it sends.
        """
        if self.writer is None:
            logger.error("cannot send %s: no transport", method)
            return
        message = f'{{"jsonrpc": "2.0", "method": {json.dumps(method)}, "params": {params}}}'
        body = message.encode(self.CHARSET)
        header = ""
        if self._include_headers:
            header = (
                f"Content-Length: {len(body)}\r\n"
                f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
            )
        written = self.writer.write(header.encode(self.CHARSET) + body)
        if inspect.isawaitable(written):
            # A websocket's writer writes in a task (stdio's, which `kibitz lsp` uses, has written already).
            task = asyncio.ensure_future(written)
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)
