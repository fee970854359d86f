"""A test PKI made at test time (wsbtest.Certs)."""

import base64
import collections
import datetime
import hashlib
import ipaddress
import pathlib

# ---------------------------------------------------------------- certificates

CertFiles = collections.namedtuple("CertFiles", "cert key")


class Certs:
    """A PKI made at test time in DIRECTORY, as PEM files:
      ca           the test CA (ca.pem)
      server       signed by the CA for DNS:localhost and IP:127.0.0.1
      self_signed  self-signed, for the same names
      expired      signed by the CA, same names, expired yesterday
      other_host   signed by the CA for DNS:other.test only
      client       signed by the CA, for client authentication
    """

    def __init__(self, directory):
        from cryptography.hazmat.primitives.asymmetric import ec
        self._ec = ec
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        self._now = now
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self._ca_cert = self._build("wsbridge test CA", self._ca_key.public_key(), None,
                                    self._ca_key, ca=True)
        self.ca = self._write("ca", self._ca_cert)
        names = ["localhost", ipaddress.ip_address("127.0.0.1")]
        self.server = self._leaf("server", names)
        self.self_signed = self._leaf("self-signed", names, self_signed=True)
        self.expired = self._leaf("expired", names, not_before=now - datetime.timedelta(days=30),
                                  not_after=now - datetime.timedelta(days=1))
        self.other_host = self._leaf("other-host", ["other.test"])
        self.client = self._leaf("client", [], client=True)

    def _build(self, cn, public_key, issuer_cert, signing_key, ca=False, names=(),
               client=False, not_before=None, not_after=None):
        """A certificate for CN; issued by ISSUER_CERT, or self-issued when None."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        builder = (x509.CertificateBuilder()
                   .subject_name(subject)
                   .issuer_name(issuer_cert.subject if issuer_cert else subject)
                   .public_key(public_key)
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(not_before or self._now - datetime.timedelta(days=1))
                   .not_valid_after(not_after or self._now + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                                  critical=False))
        if issuer_cert:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
                critical=False)
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
        else:
            usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(n) if isinstance(n, str) else x509.IPAddress(n) for n in names]),
                critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    def _leaf(self, name, names, self_signed=False, **kwargs):
        key = self._ec.generate_private_key(self._ec.SECP256R1())
        issuer, signing_key = (None, key) if self_signed else (self._ca_cert, self._ca_key)
        cert = self._build(f"wsbridge test {name}", key.public_key(), issuer, signing_key,
                           names=names, **kwargs)
        return CertFiles(self._write(name, cert), self._write_key(name, key))

    def _write(self, name, cert):
        from cryptography.hazmat.primitives.serialization import Encoding
        path = self.dir / f"{name}.pem"
        path.write_bytes(cert.public_bytes(Encoding.PEM))
        return path

    def _write_key(self, name, key):
        from cryptography.hazmat.primitives import serialization
        path = self.dir / f"{name}.key"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
        return path

    @staticmethod
    def server_args(files, client_ca=None):
        """ws_server.py options serving FILES (a CertFiles), optionally requiring
        client certificates signed by CLIENT_CA."""
        args = ["--tls-cert", str(files.cert), "--tls-key", str(files.key)]
        return args + (["--tls-client-ca", str(client_ca)] if client_ca else [])

    @staticmethod
    def pin(files):
        """base64 SHA-256 of the certificate's SubjectPublicKeyInfo (DER)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        cert = x509.load_pem_x509_certificate(pathlib.Path(files.cert).read_bytes())
        spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(hashlib.sha256(spki).digest()).decode()
