#!/usr/bin/env python3
"""Keys and JSON Web Tokens for the tests of cratis serve's OIDC support (tests/unit/test_jwt.c,
tests/e2e/serve_tls.sh), generated at test time with python3-cryptography.

jwt_gen.py DIR NOW [ISSUER AUDIENCE]: writes DIR/jwks.json (an RSA key "r1", an EC P-256 key "e1",
and keys that must be skipped), DIR/short.json (a 1024-bit RSA key only) and DIR/tokens.txt: one
"NAME TOKEN" line per case, claims relative to NOW (Unix seconds).
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def seg(obj):
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def uint(n):
    return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def rsa_jwk(key, kid):
    pub = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": uint(pub.n), "e": uint(pub.e)}


def ec_jwk(key, kid):
    pub = key.public_key().public_numbers()
    return {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(pub.x.to_bytes(32, "big")),
            "y": b64(pub.y.to_bytes(32, "big"))}


def sign(alg, key, header, claims):
    h = dict(header, alg=alg)
    data = (seg(h) + "." + seg(claims)).encode()
    if alg == "RS256":
        sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "HS256":
        m = hmac.HMAC(key, hashes.SHA256())
        m.update(data)
        sig = m.finalize()
    else:
        sig = b"x"
    return data.decode() + "." + b64(sig)


def main():
    out, now = sys.argv[1], int(sys.argv[2])
    iss = sys.argv[3] if len(sys.argv) > 3 else "https://idp.example"
    aud = sys.argv[4] if len(sys.argv) > 4 else "cratis"
    rk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ek = ec.generate_private_key(ec.SECP256R1())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    enc = dict(rsa_jwk(other, "enc1"), use="enc")
    jwks = {"keys": [rsa_jwk(rk, "r1"), ec_jwk(ek, "e1"), enc, {"kty": "oct", "k": "c2VjcmV0"}]}
    with open(out + "/jwks.json", "w") as f:
        json.dump(jwks, f)
    with open(out + "/short.json", "w") as f:
        json.dump({"keys": [rsa_jwk(short, "s1")]}, f)

    def claims(**kw):
        c = {"iss": iss, "aud": aud, "sub": "alice", "exp": now + 3600, "iat": now, "groups": ["deployer", "ops"]}
        c.update(kw)
        return {k: v for k, v in c.items() if v is not None}

    r1, e1 = {"kid": "r1", "typ": "JWT"}, {"kid": "e1"}
    good = sign("RS256", rk, r1, claims())
    h, p, s = good.split(".")
    tampered = h + "." + seg(claims(sub="mallory", groups=["admin"])) + "." + s
    pem = rk.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    cases = {
        "good_rs": good,
        "good_es": sign("ES256", ek, e1, claims(aud=["other", aud], sub=None, email="bob@example.org",
                                                groups="viewer")),
        "good_nokid": sign("RS256", rk, {}, claims()),
        "good_leeway": sign("RS256", rk, r1, claims(exp=now - 30, nbf=now + 30)),
        "reader": sign("RS256", rk, r1, claims(sub="rita", groups=["readonly"])),
        "norole": sign("RS256", rk, r1, claims(sub="nora", groups=None)),
        "expired": sign("RS256", rk, r1, claims(exp=now - 3600)),
        "not_yet": sign("RS256", rk, r1, claims(nbf=now + 3600)),
        "no_exp": sign("RS256", rk, r1, claims(exp=None)),
        "wrong_aud": sign("RS256", rk, r1, claims(aud="someone-else")),
        "wrong_iss": sign("RS256", rk, r1, claims(iss="https://evil.example")),
        "wrong_key": sign("RS256", other, r1, claims()),
        "unknown_kid": sign("RS256", rk, {"kid": "r9"}, claims()),
        "tampered": tampered,
        "alg_none": seg({"alg": "none"}) + "." + seg(claims()) + ".eA",
        "alg_none_empty": seg({"alg": "none"}) + "." + seg(claims()) + ".",
        "hs256": sign("HS256", pem, r1, claims()),
        "es_as_rs": sign("ES256", ek, r1, claims()),
        "no_subject": sign("RS256", rk, r1, claims(sub=None)),
    }
    with open(out + "/tokens.txt", "w") as f:
        for name, tok in cases.items():
            f.write(name + " " + tok + "\n")


main()
