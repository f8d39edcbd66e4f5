"""Alert secrets and the signature header."""

from __future__ import annotations

import hashlib
import hmac

from otastats.alerts.signing import alert_secret, signature, verify


def test_the_signature_is_the_documented_hmac() -> None:
    body = b'{"a":1}'
    header = signature("whsec_abc", 1_700_000_000, body)
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify("whsec_abc", header, body)
    assert not verify("whsec_abd", header, body)
    assert not verify("whsec_abc", header, body + b" ")
    assert not verify("whsec_abc", header.replace("t=1700000000", "t=1700000001"), body)
    assert not verify("whsec_abc", "v1=" + expected, body)


def test_a_secret_is_recomputed_from_the_salt_and_differs_per_alert() -> None:
    key = bytes(range(32))
    first = alert_secret(key, "alert-1", "salt")
    assert first == alert_secret(key, "alert-1", "salt")
    assert first.startswith("whsec_")
    assert len(first) == len("whsec_") + 43
    assert first != alert_secret(key, "alert-2", "salt")
    assert first != alert_secret(key, "alert-1", "other")
    assert first != alert_secret(bytes(32), "alert-1", "salt")
