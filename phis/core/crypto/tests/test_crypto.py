import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from hypothesis import given
from hypothesis import strategies as st

from phis.core.crypto.blind_index import blind_index
from phis.core.crypto.masking import mask_id_number, mask_name, mask_phone
from phis.core.crypto.providers import (
    AesGcmProvider,
    DecryptionError,
    Sm4GcmProvider,
    parse_keyring,
)

KEY = bytes(range(32))


@pytest.mark.parametrize("provider_cls", [Sm4GcmProvider, AesGcmProvider])
@given(data=st.binary(max_size=200), aad=st.binary(max_size=20))
def test_round_trip(provider_cls, data, aad):
    p = provider_cls({1: KEY}, 1)
    blob = p.encrypt(data, associated_data=aad)
    assert p.decrypt(blob, associated_data=aad) == data


@pytest.mark.parametrize("provider_cls", [Sm4GcmProvider, AesGcmProvider])
def test_tamper_and_wrong_purpose_fail(provider_cls):
    p = provider_cls({1: KEY}, 1)
    blob = bytearray(p.encrypt(b"370502198001011234", associated_data=b"id"))
    with pytest.raises(DecryptionError):
        p.decrypt(bytes(blob), associated_data=b"phone")
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        p.decrypt(bytes(blob), associated_data=b"id")


def test_key_rotation_reads_old_rows():
    old = Sm4GcmProvider(*parse_keyring("1:" + KEY.hex()))
    blob = old.encrypt(b"x")
    new = Sm4GcmProvider(*parse_keyring("2:" + "ab" * 32 + ",1:" + KEY.hex()))
    assert new.current_key_id == 2
    assert new.decrypt(blob) == b"x"
    assert new.encrypt(b"y")[1] == 2


def test_sm4_matches_openssl():
    """SM4 (GB/T 32907) known answer from the standard: key = plaintext =
    0123456789abcdeffedcba9876543210 -> 681edf34d206965e86b3e94f536e4246; OpenSSL agrees."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"
    out = subprocess.run(["openssl", "enc", "-sm4-ecb", "-K", key.hex(), "-nopad"],
                         input=key, capture_output=True, check=True).stdout
    assert out.hex() == "681edf34d206965e86b3e94f536e4246"


def test_blind_index_is_hmac_sm3_with_domain():
    value = blind_index(KEY, "phone", "13800138000")
    mac = hmac.HMAC(KEY, hashes.SM3())
    mac.update(b"phone\x0013800138000")
    assert value == mac.finalize().hex()[:40]
    assert value != blind_index(KEY, "id:01", "13800138000")
    out = subprocess.run(["openssl", "dgst", "-sm3", "-mac", "HMAC", "-macopt",
                          f"hexkey:{KEY.hex()}"], input=b"phone\x0013800138000",
                         capture_output=True, check=True).stdout.decode()
    assert out.strip().split()[-1][:40] == value


def test_masking():
    assert mask_id_number("370502198001011234") == "370502********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张小明") == "张*明"
    assert mask_name("王五") == "王*"
