"""HTTPS endpoints: the sender connects to the address it checked yet verifies the certificate against the
URL's host name (SNI), so pinning the address never weakens TLS; a certificate for another name fails."""
import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webhooks import transport


def _cert(names, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path, monkeypatch, request):
    names = request.param
    cert_path, key_path = _cert(names, tmp_path)
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            seen.append((self.headers["Host"], self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # the default context trusts our test certificate
    monkeypatch.setattr(transport, "resolve", lambda host, port: ["127.0.0.1"])  # "localhost" -> IPv4 only
    yield server, seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("tls_server", [["localhost"]], indirect=True)
def test_https_is_verified_against_the_urls_host_while_connecting_to_the_checked_address(tls_server, settings):
    settings.MALLARD_WEBHOOKS_ALLOW_PRIVATE = True
    server, seen = tls_server
    port = server.server_address[1]
    result = transport.post(f"https://localhost:{port}/hooks", body=b'{"x":1}', headers={"Content-Type": "application/json"})
    assert (result.status, result.error) == (204, "")
    assert seen == [(f"localhost:{port}", b'{"x":1}')]


@pytest.mark.parametrize("tls_server", [["erp.example.com"]], indirect=True)
def test_a_certificate_for_another_name_is_a_failed_attempt(tls_server, settings):
    settings.MALLARD_WEBHOOKS_ALLOW_PRIVATE = True
    server, seen = tls_server
    result = transport.post(f"https://localhost:{server.server_address[1]}/hooks", body=b"{}", headers={})
    assert result.status is None and "CERTIFICATE_VERIFY_FAILED" in result.error, result.error
    assert seen == []
