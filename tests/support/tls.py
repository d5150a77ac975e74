"""Certificates for a TLS Dask cluster on 127.0.0.1, made in the test with ``cryptography``."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_key(path: str, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(data)


def make_certificates(directory: str) -> dict[str, str]:
    """A CA, and a certificate signed by it for 127.0.0.1 (scheduler, workers and client alike).
    Returns the paths: ``ca``, ``cert``, ``key``; and ``other_cert``/``other_key`` signed by another CA."""
    now = dt.datetime.now(dt.timezone.utc)
    paths = {}
    for prefix in ("", "other_"):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (x509.CertificateBuilder().subject_name(_name(f"por test CA {prefix}")).issuer_name(_name(f"por test CA {prefix}"))
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                            x509.DNSName("localhost")]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        for name, data in ((f"{prefix}ca", ca.public_bytes(serialization.Encoding.PEM)),
                           (f"{prefix}cert", cert.public_bytes(serialization.Encoding.PEM))):
            paths[name] = os.path.join(directory, f"{name}.pem")
            with open(paths[name], "wb") as f:
                f.write(data)
        paths[f"{prefix}key"] = os.path.join(directory, f"{prefix}key.pem")
        _write_key(paths[f"{prefix}key"], key)
    return paths
