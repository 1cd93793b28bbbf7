"""Signing keys: generation (RS256 default, ES256, EdDSA), JWK export, verification keys (sealing: `sealing.py`).

Each key is bound to exactly one algorithm (RFC 8725 3.1): a verification key refuses any other `alg`, so an
RSA public key can never be used as an HMAC secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from jwt.algorithms import Algorithm as JwsAlgorithm
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from edgeauth.errors import KeyStoreError
from edgeauth.settings import Algorithm

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

_KTY = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}
RSA_BITS = 2048
_PKCS1v15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _pyjwt_algorithm(alg: str) -> JwsAlgorithm:
    if alg == "RS256":
        return RSAAlgorithm(RSAAlgorithm.SHA256)
    if alg == "ES256":
        return ECAlgorithm(ECAlgorithm.SHA256)
    if alg == "EdDSA":
        return OKPAlgorithm()
    raise KeyStoreError(f"unsupported algorithm {alg!r}: use RS256, ES256 or EdDSA")


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) over the required members only."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode("utf-8")).digest())


@dataclass(frozen=True)
class SigningKey:
    """A private key with its algorithm and key id (the RFC 7638 thumbprint of its public half)."""

    alg: str
    private_key: PrivateKey = field(repr=False)
    kid: str = ""

    def __post_init__(self) -> None:
        if not self.kid:
            object.__setattr__(self, "kid", thumbprint(self._bare_public_jwk()))

    @classmethod
    def generate(cls, alg: Algorithm = "RS256") -> SigningKey:
        private: PrivateKey
        if alg == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        elif alg == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        elif alg == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
        else:
            raise KeyStoreError(f"unsupported algorithm {alg!r}: use RS256, ES256 or EdDSA")
        return cls(alg=alg, private_key=private)

    def _bare_public_jwk(self) -> dict[str, Any]:
        jwk = _pyjwt_algorithm(self.alg).to_jwk(self.private_key.public_key(), as_dict=True)
        return {k: v for k, v in jwk.items() if k in {"kty", "n", "e", "crv", "x", "y"}}

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK as published in the JWKS: kid, alg and `use: sig` bound to the key."""
        return {**self._bare_public_jwk(), "kid": self.kid, "alg": self.alg, "use": "sig"}

    def private_der(self) -> bytes:
        """The private key as unencrypted PKCS#8 DER, for `Sealer.seal` and nothing else."""
        return self.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @classmethod
    def from_der(cls, alg: str, kid: str, der: bytes) -> SigningKey:
        try:
            private = serialization.load_der_private_key(der, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyStoreError(f"private key {kid} is damaged: {exc}") from exc
        if not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise KeyStoreError(f"private key {kid} has an unsupported type")
        return cls(alg=alg, private_key=private, kid=kid)

    def verification_key(self) -> VerificationKey:
        return VerificationKey.from_jwk(self.public_jwk())


@dataclass(frozen=True)
class VerificationKey:
    """A public key bound to one `alg`; `verify` checks a JWS signature and nothing else."""

    kid: str
    alg: str
    public_key: PublicKey = field(repr=False)
    _algorithm: JwsAlgorithm = field(repr=False, compare=False)

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any], default_alg: str | None = None) -> VerificationKey:
        """Load one JWK; the alg comes from the JWK (or `default_alg`) and must fit the key type."""
        kid = jwk.get("kid")
        alg = jwk.get("alg", default_alg)
        if not isinstance(kid, str) or not kid:
            raise KeyStoreError("JWK without a kid")
        if alg not in _KTY:
            raise KeyStoreError(f"JWK {kid}: algorithm {alg!r} is not supported")
        if jwk.get("kty") != _KTY[alg]:
            raise KeyStoreError(f"JWK {kid}: key type {jwk.get('kty')!r} does not fit {alg}")
        if jwk.get("use", "sig") != "sig":
            raise KeyStoreError(f"JWK {kid}: not a signature key")
        algorithm = _pyjwt_algorithm(alg)
        try:
            key = algorithm.from_jwk(jwk)
        except (InvalidKeyError, ValueError, TypeError, KeyError) as exc:
            raise KeyStoreError(f"JWK {kid}: {exc}") from exc
        if alg == "RS256" and not isinstance(key, rsa.RSAPublicKey):
            raise KeyStoreError(f"JWK {kid}: not an RSA public key")
        if alg == "ES256" and not (isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"):
            raise KeyStoreError(f"JWK {kid}: ES256 needs a P-256 public key")
        if alg == "EdDSA" and not isinstance(key, ed25519.Ed25519PublicKey):
            raise KeyStoreError(f"JWK {kid}: EdDSA needs an Ed25519 public key")
        return cls(kid=kid, alg=alg, public_key=cast(PublicKey, key), _algorithm=algorithm)

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        if self.alg == "RS256":
            # Straight to OpenSSL: the same check pyjwt's RSAAlgorithm.verify does, minus a Python frame.
            try:
                cast(rsa.RSAPublicKey, self.public_key).verify(signature, signing_input, _PKCS1v15, _SHA256)
            except InvalidSignature:
                return False
            return True
        return bool(self._algorithm.verify(signing_input, self.public_key, signature))


def load_jwks(jwks: dict[str, Any]) -> dict[str, VerificationKey]:
    """Every usable key of a JWKS by kid; a key that cannot be loaded is left out, never guessed at."""
    keys: dict[str, VerificationKey] = {}
    for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        if not isinstance(jwk, dict):
            continue
        try:
            key = VerificationKey.from_jwk(jwk)
        except KeyStoreError:
            continue
        keys[key.kid] = key
    return keys
