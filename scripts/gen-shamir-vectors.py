#!/usr/bin/env python3
"""Independent Shamir known-answer vectors for test/crypto.test.ts.

GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1 (0x11b), as the shamir-secret-sharing
package uses; a share is the y bytes followed by one x byte. Fixed coefficients, so the
shares are reproducible: combine() of any t of them must give the secret.
"""
import json

def mul(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11b
        b >>= 1
    return r

def evaluate(coeffs, x):
    y = 0
    for c in reversed(coeffs):
        y = mul(y, x) ^ c
    return y

vectors = []
for (t, xs, seed) in [(2, [1, 2, 3], 7), (3, [5, 17, 200, 255, 42], 11)]:
    secret = bytes((i * 29 + seed) % 256 for i in range(32))
    shares = [bytearray() for _ in xs]
    for i, s in enumerate(secret):
        coeffs = [s] + [((i + 1) * (j + 3) * seed) % 256 for j in range(t - 1)]
        for k, x in enumerate(xs):
            shares[k].append(evaluate(coeffs, x))
    for k, x in enumerate(xs):
        shares[k].append(x)
    vectors.append({"threshold": t, "secret": secret.hex(), "shares": [bytes(s).hex() for s in shares]})
print(json.dumps({"source": "scripts/gen-shamir-vectors.py", "vectors": vectors}, indent=2))
