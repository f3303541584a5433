"""Helpers shared by the client's tests and the images' tests (tests/images): ports, waiting on
events, test certificates."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float = 60.0, proc: subprocess.Popen | None = None, log: Path | None = None):
    """Polls ``check`` until it returns a true value; fails naming ``what`` (and the server's log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited ({proc.returncode}):\n{log.read_text() if log else ''}")
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}" + (f":\n{log.read_text()[-3000:]}" if log else ""))


def scheduler_rest(port: int, path: str):
    """GETs ``path`` of the scheduler's REST API on loopback ``port`` and reads its JSON."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return json.load(r)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def make_certificates(root: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> dict:
    """A CA, a server certificate for ``hosts`` (names or IP addresses) and a client certificate,
    made now, as PEM files in ``root``: ca, cert, key, client_cert, client_key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("ardent test CA")).issuer_name(name("ardent test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    def signed(cn, extensions):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        )
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(ca_key, hashes.SHA256()), key

    def san(host):
        try:
            return x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            return x509.DNSName(host)

    server, server_key = signed(hosts[0], [x509.SubjectAlternativeName([san(h) for h in hosts])])
    client, client_key = signed("alice", [])
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
    key_pem = lambda k: k.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    paths = {name: root / f"{name}.pem" for name in ("ca", "cert", "key", "client_cert", "client_key")}
    for name, data in [("ca", pem(ca)), ("cert", pem(server)), ("key", key_pem(server_key)),
                       ("client_cert", pem(client)), ("client_key", key_pem(client_key))]:
        paths[name].write_bytes(data)
    return paths
