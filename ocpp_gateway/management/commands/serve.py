"""Serve the whole system (admin, API, charger WebSockets) from one ASGI process.

The one place the server's WebSocket limits are set, from settings: frame size (S10, R21),
ping interval and timeout (R22). uvicorn has no idle timeout for WebSockets, so a charger
may stay connected for days (R24); daphne closes them after 24 h by default.
"""

import resource

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from common.garbage import tune_garbage_collector
from ocpp_gateway.tls import TLSWebSocketProtocol, server_ssl_options


class Command(BaseCommand):
    help = "Run the ASGI server (uvicorn) with the project's WebSocket limits."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options) -> None:
        raise_open_file_limit()
        tune_garbage_collector()
        uvicorn.run("csms.asgi:application", host=host, port=port, **server_options())


def raise_open_file_limit() -> None:
    """One file descriptor per charger: take the hard limit (systemd's LimitNOFILE sets it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def server_options() -> dict:
    """uvicorn's options. WebSockets are closed only by the peer, a failed ping or a
    frame over the size limit: uvicorn has no idle or age limit for them (R24)."""
    return dict(
        loop="uvloop",
        http="httptools",
        # websockets-sansio, with the client certificate and the TCP peer in the scope.
        ws=TLSWebSocketProtocol,
        ws_max_size=settings.OCPP_MAX_FRAME_BYTES,
        ws_ping_interval=settings.OCPP_WS_PING_INTERVAL,
        ws_ping_timeout=settings.OCPP_WS_PING_TIMEOUT,
        lifespan="on",
        proxy_headers=True,
        forwarded_allow_ips=settings.TRUSTED_PROXIES,
        server_header=False,
        # Room for a reconnect storm: thousands of chargers connecting in the same second.
        backlog=settings.OCPP_LISTEN_BACKLOG,
        log_level=settings.LOG_LEVEL.lower(),
        # TLS terminated here when a certificate is configured (security profiles 2 and 3).
        **server_ssl_options(settings.OCPP_TLS_CERT_FILE, settings.OCPP_TLS_KEY_FILE, settings.OCPP_TLS_CLIENT_CA_FILE),
    )
