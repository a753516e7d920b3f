#!/usr/bin/env python3
"""A tiny Docker token server for tests: issues ES256 JWTs (x5c header carrying a
self-signed P-256 certificate) as the distribution registry's `auth.token` expects.

usage: tokenserver.py DIR PORT USER PASSWORD
Writes DIR/cert.pem (the registry's rootcertbundle) and serves GET /token on
127.0.0.1:PORT. With the right Basic credentials every requested action is granted;
anonymous requests get `pull` only; wrong credentials get 401.
"""
import base64, datetime, http.server, json, os, sys, time, urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

DIR, PORT, USER, PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ISSUER, SERVICE = "test-issuer", "test-registry"

key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "skiff test token signer")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256()))
with open(os.path.join(DIR, "cert.pem"), "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
X5C = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(subject, access):
    header = {"typ": "JWT", "alg": "ES256", "x5c": [X5C]}
    t = int(time.time())
    claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": t + 300, "nbf": t - 10,
              "iat": t, "jti": os.urandom(8).hex(), "access": access}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path != "/token":
            self.send_error(404)
            return
        auth = self.headers.get("Authorization", "")
        user = ""
        if auth.startswith("Basic "):
            u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
            if (u, p) != (USER, PASSWORD):
                self.send_response(401)
                self.end_headers()
                self.wfile.write(b'{"details":"incorrect username or password"}')
                return
            user = u
        access = []
        for scope in urllib.parse.parse_qs(url.query).get("scope", []):
            kind, _, rest = scope.partition(":")
            repo, _, actions = rest.rpartition(":")
            granted = [a for a in actions.split(",") if user or a == "pull"]
            access.append({"type": kind, "name": repo, "actions": granted})
        body = json.dumps({"token": token(user, access), "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
