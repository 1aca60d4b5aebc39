"""The web chat widget, served by the Rasa server itself under /webhooks/web/.

    /webhooks/web/                         a demo "council page" with the widget on it
    /webhooks/web/embed                    the snippet a council site pastes (one script tag, one div)
    /webhooks/web/widget.js, widget.css    the widget (our own, no framework)
    /webhooks/web/vendor/socket.io.min.js  socket.io-client, vendored (scripts/vendor_js.sh)

The widget talks to Rasa's socket.io channel (credentials.yml, polling transport on Python
3.11). Serving is a fixed list of files read once at start-up, so no request can name a
path of its own; each has its MIME type, an ETag and a gzip copy, and the two pages carry a
Content-Security-Policy that allows only this origin. See docs/web-widget.md.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request

STATIC = Path(__file__).parent / "static"

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

# Path under /webhooks/web/ -> (file under static/, MIME type). Nothing else is served.
FILES: dict[str, tuple[str, str]] = {
    "": ("demo.html", HTML),
    "embed": ("embed.html", HTML),
    "demo.css": ("demo.css", CSS),
    "favicon.svg": ("favicon.svg", "image/svg+xml"),
    "widget.js": ("widget.js", JS),
    "widget.css": ("widget.css", CSS),
    "vendor/socket.io.min.js": ("vendor/socket.io.min.js", JS),
    "vendor/socket.io.LICENSE": ("vendor/socket.io.LICENSE", TEXT),
}

# The pages load only what this origin serves; socket.io's polling is same-origin XHR.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Referrer-Policy": "no-referrer"}
# Revalidate every time (a 304 costs a few bytes), so a new widget reaches people at once.
CACHE_CONTROL = "no-cache"
ORIGIN_PLACEHOLDER = "{{ORIGIN}}"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    content_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, content_type: str) -> Asset:
        return cls(
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            content_type=content_type,
            etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
        )


def load_assets(static: Path = STATIC) -> dict[str, Asset]:
    """Read every served file once; a missing one is an error at start-up, not a 404 later."""
    assets = {}
    for path, (filename, content_type) in FILES.items():
        file = static / filename
        if not file.is_file():
            hint = " Run scripts/vendor_js.sh." if filename.startswith("vendor/") else ""
            raise FileNotFoundError(f"The web widget needs {file}, which is missing.{hint}")
        assets[path] = Asset.of(file.read_bytes(), content_type)
    return assets


def public_origin(request: Request) -> str:
    """Where this server is reached from outside: PUBLIC_BASE_URL, else what the request says."""
    configured = os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    return configured or f"{request.scheme}://{request.host}"


def serve(request: Request, asset: Asset, is_page: bool) -> response.HTTPResponse:
    headers = {**COMMON_HEADERS, "Cache-Control": CACHE_CONTROL}
    if is_page:
        headers.update(PAGE_HEADERS)
    zipped = "gzip" in request.headers.get("accept-encoding", "") and len(asset.gzipped) < len(asset.body)
    etag = asset.etag[:-1] + '-gz"' if zipped else asset.etag
    headers["ETag"] = etag
    if etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return response.HTTPResponse(status=304, headers=headers)
    if zipped:
        headers["Content-Encoding"] = "gzip"
    return response.raw(
        asset.gzipped if zipped else asset.body, content_type=asset.content_type, headers=headers
    )


# Rasa 3.6's SocketIOOutput.send_custom_json calls `sio.emit(event, **json_message)`: the payload's
# keys become emit()'s keyword arguments, so only a payload shaped {"data": ...} gets through. Ours
# ({"recommendations": [...]}, {"referral": {...}}, the same as on the REST channel) raised
# "TypeError: emit() got an unexpected keyword argument 'recommendations'", which ended the turn:
# the rest of the bot's messages were lost. Payloads made only of emit()'s own arguments keep
# Rasa's behaviour; any other payload is sent as the event's data, as the text messages are.
_EMIT_ARGUMENTS = frozenset({"data", "to", "room", "skip_sid", "namespace", "callback", "ignore_queue"})


def deliver_custom_payloads_over_socketio() -> None:
    """Make Rasa's socket.io channel send custom payloads as the event's data (idempotent)."""
    original = SocketIOOutput.send_custom_json
    if getattr(original, "delivers_any_payload", False):
        return

    async def send_custom_json(
        self: SocketIOOutput, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        if json_message.keys() <= _EMIT_ARGUMENTS:
            await original(self, recipient_id, json_message, **kwargs)
        else:
            await self._send_message(recipient_id, json_message)

    send_custom_json.delivers_any_payload = True  # type: ignore[attr-defined]
    SocketIOOutput.send_custom_json = send_custom_json  # type: ignore[method-assign]


class WebChatChannel(InputChannel):
    """Serves the widget; the conversation itself goes through the socket.io channel.

    Registering this channel (credentials.yml) also applies the socket.io payload fix above:
    without it the widget would get no recommendation cards and no referral confirmation.
    """

    @classmethod
    def name(cls) -> str:
        return "web"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        deliver_custom_payloads_over_socketio()
        assets = load_assets()
        web = Blueprint("web_chat_page", __name__)

        def route(asset: Asset) -> Callable[[Request], Awaitable[response.HTTPResponse]]:
            async def handler(request: Request) -> response.HTTPResponse:
                return serve(request, asset, is_page=asset.content_type == HTML)

            return handler

        for index, (path, asset) in enumerate(assets.items()):
            if path == "embed":
                continue
            web.add_route(
                route(asset),
                "/" + path,
                methods=["GET"],
                name=f"web_asset_{index}",
                strict_slashes=bool(path),
            )

        embed_template = assets["embed"].body.decode()

        @web.route("/embed", methods=["GET"], strict_slashes=True)
        async def embed(request: Request) -> response.HTTPResponse:
            origin = html.escape(public_origin(request), quote=True)
            page = Asset.of(embed_template.replace(ORIGIN_PLACEHOLDER, origin).encode(), HTML)
            return serve(request, page, is_page=True)

        return web
