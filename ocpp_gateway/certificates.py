"""SignCertificate, the same message in the 1.6 security extension (whitepaper sec. 5.12, A02/A03)
and in 2.0.1 (A02/A03): `csr` (PEM), and on 2.0.1 an optional `certificateType`. One handler for
both versions' tables; the CSR is judged by the version-neutral service, and the signed chain
follows the answer as a CertificateSigned command."""

import datetime as dt
from functools import partial

from ocpp_gateway.connection import Connection
from ocpp_gateway.seam import TRANSACTIONS
from sites.certificates.services import answer_signing_request
from sites.commands.intents import CertificateUse

# CertificateSigningUseEnumType (2.0.1); 1.6 signs only the charge point's own certificate.
SIGNING_USES = {"ChargingStationCertificate": CertificateUse.CHARGER, "V2GCertificate": CertificateUse.V2G}


async def sign_certificate(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    """Accepted or Rejected (whitepaper A02.FR.11/12; 2.0.1 A02/A03); both versions'
    response has the one `status` field."""
    use = SIGNING_USES.get(payload.get("certificateType", ""), CertificateUse.CHARGER)
    accepted = await TRANSACTIONS.submit(
        partial(
            answer_signing_request,
            charger_id=conn.registered_id,
            charge_point_id=conn.charge_point_id,
            csr=payload["csr"],
            use=use,
        )
    )
    return {"status": "Accepted" if accepted else "Rejected"}
