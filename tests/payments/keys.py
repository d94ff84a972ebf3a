"""RSA test keys for the Alipay and WeChat Pay tests: made fresh in each test session with
`cryptography`, never stored in the repository. `key("alipay")` is the same key all session."""
from __future__ import annotations

import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey


@functools.cache
def key(name: str) -> RSAPrivateKey:
    """The session's private key called `name` (e.g. "alipay", "merchant-app", "intruder")."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(name: str) -> str:
    return key(name).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()).decode()


def public_pem(name: str) -> str:
    return key(name).public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
