"""Certificates of chargers (OCPP 1.6 security whitepaper, 2.0.1 A): who a certificate must
name, how charger certificates are checked, signed and tracked."""
