"""TLS terminated by `manage.py serve` itself (security profiles 2 and 3).

uvicorn verifies a client certificate when its SSL context asks for one, but does not put it
in the ASGI scope. The smallest clean way to get it there is this subclass of uvicorn's
WebSocket protocol (passed as `ws=` to uvicorn): when the connection is made it reads the
peer's certificate from the transport's SSL object and, once uvicorn has built the scope,
adds the ASGI TLS extension `scope["extensions"]["tls"]["client_cert_chain"]` (a list of PEM
strings, the leaf first) for the application. It also keeps the TCP peer's address in
`scope["extensions"]["ocpp.peer"]`, because uvicorn's proxy-headers middleware later
replaces `scope["client"]` by X-Forwarded-For: whether a client-certificate header may be
believed depends on who sent it (the proxy), not on whom the proxy says it is for.
"""

import ssl
from asyncio import BaseTransport
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.utils import get_remote_addr
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

PEER_EXTENSION = "ocpp.peer"

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME (1.1.0 and later; Python's ssl has no name for it).
NO_CHECK_TIME = 0x200000


def peer_certificate_pem(transport: BaseTransport) -> str | None:
    """The client's certificate as PEM, if it sent one (the TLS layer has verified its chain
    against OCPP_TLS_CLIENT_CA_FILE already: with CERT_OPTIONAL one that does not chain fails
    the TLS handshake; its validity period is checked by the application, see below)."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return ssl.DER_cert_to_PEM_cert(der) if der else None


class TLSWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, with the client certificate and raw peer in the scope."""

    client_certificate: str | None = None
    over_tls = False
    peer: tuple[str, int] | None = None

    def connection_made(self, transport: BaseTransport) -> None:
        super().connection_made(transport)
        self.over_tls = transport.get_extra_info("ssl_object") is not None
        self.client_certificate = peer_certificate_pem(transport)
        self.peer = get_remote_addr(transport)  # type: ignore[arg-type]  # uvicorn's own call does the same

    def handle_connect(self, event: Any) -> None:
        # The ASGI task is created in super() but runs only once this returns: the scope can
        # still be completed here.
        super().handle_connect(event)
        if getattr(self, "scope", None) is None:  # the upgrade was refused by uvicorn itself
            return
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions[PEER_EXTENSION] = self.peer
        if self.over_tls:
            # ASGI TLS extension, present for every TLS connection: client_cert_chain, PEM
            # strings, the leaf first (empty: the client sent none).
            chain = [self.client_certificate] if self.client_certificate else []
            extensions["tls"] = {"client_cert_chain": chain, "server_cert": None}


def server_ssl_options(cert_file: str, key_file: str, client_ca_file: str) -> dict[str, Any]:
    """uvicorn's SSL options: our certificate, and a client certificate asked for but optional
    at the TLS layer (profile 1/2 chargers have none; profile 3 requires it at the handshake,
    ocpp_gateway/handshake.py), verified against the charging-station CA when sent."""
    if not cert_file:
        return {}
    options: dict[str, Any] = {
        "ssl_certfile": cert_file,
        "ssl_keyfile": key_file or None,
        "ssl_context_factory": _hardened_context,
    }
    if client_ca_file:
        options.update(ssl_ca_certs=client_ca_file, ssl_cert_reqs=ssl.CERT_OPTIONAL)
    return options


def _hardened_context(config: Any, default_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's context, with TLS 1.2 at least (whitepaper A00.FR.416; A00.FR.317 for profile 2).
    The TLS layer checks a client certificate's chain but not its dates: an expired certificate
    (the usual way a profile-3 charger gets locked out) then reaches the handshake, which refuses
    it with a 403 and a security event naming the problem instead of a bare TLS alert the
    operator never sees. The handshake checks validity for every profile-3 charger
    (client_certificates.check_certificate); for profile 1/2 chargers a certificate means nothing."""
    context = default_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_flags |= NO_CHECK_TIME  # an OpenSSL flag Python does not name
    return context
