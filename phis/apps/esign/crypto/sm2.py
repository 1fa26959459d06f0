"""SM2 signatures (GB/T 32918) through the system OpenSSL 3 ``libcrypto`` (ctypes).

Why not a PyPI package: ``cryptography`` has SM3/SM4 but no SM2; ``gmssl`` is pure Python
(under 10 sign+verify/s measured here, not constant-time); GmSSL/Tongsuo bindings need a
native library the machines do not have. The system ``libcrypto.so.3`` is already loaded
by Python's own ``ssl`` module, is the library behind the ``openssl`` command line the
interoperability tests use, and implements SM2 with a distinguishing ID. A few dozen
``EVP_*`` calls are enough (docs/modules/esign.md, "Why libcrypto").

Signature value: DER ``SEQUENCE { r INTEGER, s INTEGER }``; digest ``e = SM3(Z || M)`` with
``Z`` computed from the distinguishing ID (default ``1234567812345678``, GB/T 35276).
Keys travel as PKCS#8 DER (private) and SubjectPublicKeyInfo DER (public), the forms
``openssl pkey`` reads and writes. No Django here.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
from functools import lru_cache

DEFAULT_DISTID = b"1234567812345678"

OID_SM2_CURVE = "1.2.156.10197.1.301"
OID_SM3 = "1.2.156.10197.1.401"
OID_SM2_WITH_SM3 = "1.2.156.10197.1.501"


class Sm2Error(Exception):
    pass


_vp = ctypes.c_void_p
_sz = ctypes.c_size_t


def _load() -> ctypes.CDLL:
    names = ["libcrypto.so.3", ctypes.util.find_library("crypto") or "", "libcrypto.3.dylib"]
    last: OSError | None = None
    for name in [n for n in names if n]:
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            last = exc
            continue
        if not hasattr(lib, "EVP_PKEY_CTX_set1_id"):
            continue
        _declare(lib)
        if lib.OpenSSL_version_num() < 0x30000000:
            continue
        return lib
    raise Sm2Error(f"OpenSSL 3 libcrypto with SM2 not found ({last})")


def _declare(lib: ctypes.CDLL) -> None:
    def fn(name, restype, *argtypes):
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)

    fn("OpenSSL_version_num", ctypes.c_ulong)
    fn("OpenSSL_version", ctypes.c_char_p, ctypes.c_int)
    fn("ERR_get_error", ctypes.c_ulong)
    fn("ERR_clear_error", None)
    fn("ERR_error_string_n", None, ctypes.c_ulong, ctypes.c_char_p, _sz)
    fn("EVP_MD_fetch", _vp, _vp, ctypes.c_char_p, ctypes.c_char_p)
    fn("EVP_PKEY_CTX_new_from_name", _vp, _vp, ctypes.c_char_p, ctypes.c_char_p)
    fn("EVP_PKEY_CTX_new", _vp, _vp, _vp)
    fn("EVP_PKEY_CTX_free", None, _vp)
    fn("EVP_PKEY_keygen_init", ctypes.c_int, _vp)
    fn("EVP_PKEY_generate", ctypes.c_int, _vp, ctypes.POINTER(_vp))
    fn("EVP_PKEY_free", None, _vp)
    fn("EVP_PKEY_is_a", ctypes.c_int, _vp, ctypes.c_char_p)
    fn("EVP_PKEY_CTX_set1_id", ctypes.c_int, _vp, ctypes.c_char_p, ctypes.c_int)
    fn("EVP_MD_CTX_new", _vp)
    fn("EVP_MD_CTX_free", None, _vp)
    fn("EVP_MD_CTX_copy_ex", ctypes.c_int, _vp, _vp)
    fn("EVP_MD_CTX_set_pkey_ctx", None, _vp, _vp)
    fn("EVP_DigestSignInit", ctypes.c_int, _vp, _vp, _vp, _vp, _vp)
    fn("EVP_DigestSign", ctypes.c_int, _vp, ctypes.c_char_p, ctypes.POINTER(_sz),
       ctypes.c_char_p, _sz)
    fn("EVP_DigestVerifyInit", ctypes.c_int, _vp, _vp, _vp, _vp, _vp)
    fn("EVP_DigestVerify", ctypes.c_int, _vp, ctypes.c_char_p, _sz, ctypes.c_char_p, _sz)
    fn("EVP_PKEY2PKCS8", _vp, _vp)
    fn("PKCS8_PRIV_KEY_INFO_free", None, _vp)
    fn("i2d_PKCS8_PRIV_KEY_INFO", ctypes.c_int, _vp, ctypes.POINTER(ctypes.c_char_p))
    fn("i2d_PUBKEY", ctypes.c_int, _vp, ctypes.POINTER(ctypes.c_char_p))
    fn("d2i_PUBKEY", _vp, _vp, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long)
    fn("d2i_AutoPrivateKey", _vp, _vp, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long)


@lru_cache(maxsize=1)
def libcrypto() -> ctypes.CDLL:
    return _load()


def openssl_version() -> str:
    return libcrypto().OpenSSL_version(0).decode()


def _error(what: str) -> Sm2Error:
    lib = libcrypto()
    code = lib.ERR_get_error()
    buf = ctypes.create_string_buffer(256)
    if code:
        lib.ERR_error_string_n(code, buf, 256)
    lib.ERR_clear_error()
    return Sm2Error(f"{what}: {buf.value.decode(errors='replace') or 'failed'}")


@lru_cache(maxsize=1)
def _sm3() -> int:
    md = libcrypto().EVP_MD_fetch(None, b"SM3", None)  # fetched once, not per signature
    if not md:
        raise _error("SM3")
    return md


def _i2d(func, obj) -> bytes:
    n = func(obj, None)
    if n <= 0:
        raise _error("DER encoding")
    buf = ctypes.create_string_buffer(n)
    ptr = ctypes.c_char_p(ctypes.addressof(buf))
    func(obj, ctypes.byref(ptr))
    return buf.raw[:n]


class _Key:
    """Owns one ``EVP_PKEY*`` and, per distinguishing ID, an initialised sign/verify
    context that each operation copies (OpenSSL 3.0 re-fetches the algorithms on every
    init, which costs more than the SM2 arithmetic)."""

    __slots__ = ("_lock", "_ptr", "_templates")

    def __init__(self, ptr: int) -> None:
        self._ptr = ptr
        self._templates: dict[tuple[bool, bytes], tuple[int, int]] = {}
        self._lock = threading.Lock()
        if not libcrypto().EVP_PKEY_is_a(ptr, b"SM2"):
            libcrypto().EVP_PKEY_free(ptr)
            self._ptr = None
            raise Sm2Error("not an SM2 key (the curve must be 1.2.156.10197.1.301)")

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            for mctx, pctx in getattr(self, "_templates", {}).values():
                libcrypto().EVP_MD_CTX_free(mctx)
                libcrypto().EVP_PKEY_CTX_free(pctx)
            if getattr(self, "_ptr", None):
                libcrypto().EVP_PKEY_free(self._ptr)
        self._ptr = None

    def public_der(self) -> bytes:
        return _i2d(libcrypto().i2d_PUBKEY, self._ptr)

    def _context(self, sign: bool, distid: bytes) -> int:
        """A fresh EVP_MD_CTX (the caller frees it) copied from the cached initialised one;
        SM2's Z value is computed on the copy's first update."""
        lib = libcrypto()
        with self._lock:
            template = self._templates.get((sign, distid))
            if template is None:
                mctx = lib.EVP_MD_CTX_new()
                pctx = lib.EVP_PKEY_CTX_new(self._ptr, None)
                if not mctx or not pctx or lib.EVP_PKEY_CTX_set1_id(
                        pctx, distid, len(distid)) <= 0:
                    lib.EVP_MD_CTX_free(mctx)
                    lib.EVP_PKEY_CTX_free(pctx)
                    raise _error("SM2 setup")
                lib.EVP_MD_CTX_set_pkey_ctx(mctx, pctx)
                init = lib.EVP_DigestSignInit if sign else lib.EVP_DigestVerifyInit
                if init(mctx, None, _sm3(), None, self._ptr) <= 0:
                    lib.EVP_MD_CTX_free(mctx)
                    lib.EVP_PKEY_CTX_free(pctx)
                    raise _error("SM2 init")
                template = self._templates[(sign, distid)] = (mctx, pctx)
            ctx = lib.EVP_MD_CTX_new()
            if not ctx or lib.EVP_MD_CTX_copy_ex(ctx, template[0]) <= 0:
                lib.EVP_MD_CTX_free(ctx)
                raise _error("SM2 context copy")
            return ctx


class Sm2PublicKey(_Key):
    __slots__ = ()

    @classmethod
    def from_der(cls, spki_der: bytes) -> Sm2PublicKey:
        lib = libcrypto()
        data = ctypes.create_string_buffer(bytes(spki_der), len(spki_der))
        ptr = ctypes.c_char_p(ctypes.addressof(data))
        key = lib.d2i_PUBKEY(None, ctypes.byref(ptr), len(spki_der))
        if not key:
            raise _error("SM2 public key")
        return cls(key)

    def verify(self, signature: bytes, message: bytes, *, distid: bytes = DEFAULT_DISTID
               ) -> bool:
        lib = libcrypto()
        mctx = self._context(False, distid)
        try:
            ok = lib.EVP_DigestVerify(mctx, bytes(signature), len(signature), bytes(message),
                                      len(message)) == 1
            if not ok:
                lib.ERR_clear_error()
            return ok
        finally:
            lib.EVP_MD_CTX_free(mctx)


class Sm2PrivateKey(_Key):
    __slots__ = ()

    @classmethod
    def generate(cls) -> Sm2PrivateKey:
        lib = libcrypto()
        ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        try:
            pkey = _vp()
            if not ctx or lib.EVP_PKEY_keygen_init(ctx) <= 0 \
                    or lib.EVP_PKEY_generate(ctx, ctypes.byref(pkey)) <= 0:
                raise _error("SM2 key generation")
            return cls(pkey.value)
        finally:
            lib.EVP_PKEY_CTX_free(ctx)

    @classmethod
    def from_pkcs8(cls, der: bytes) -> Sm2PrivateKey:
        lib = libcrypto()
        data = ctypes.create_string_buffer(bytes(der), len(der))
        ptr = ctypes.c_char_p(ctypes.addressof(data))
        key = lib.d2i_AutoPrivateKey(None, ctypes.byref(ptr), len(der))
        ctypes.memset(data, 0, len(der))
        if not key:
            raise _error("SM2 private key")
        return cls(key)

    def pkcs8_der(self) -> bytes:
        lib = libcrypto()
        p8 = lib.EVP_PKEY2PKCS8(self._ptr)
        if not p8:
            raise _error("PKCS#8")
        try:
            return _i2d(lib.i2d_PKCS8_PRIV_KEY_INFO, p8)
        finally:
            lib.PKCS8_PRIV_KEY_INFO_free(p8)

    def public_key(self) -> Sm2PublicKey:
        return Sm2PublicKey.from_der(self.public_der())

    def sign(self, message: bytes, *, distid: bytes = DEFAULT_DISTID) -> bytes:
        lib = libcrypto()
        mctx = self._context(True, distid)
        try:
            size = _sz(80)  # DER SEQUENCE of two 256-bit INTEGERs: at most 72 bytes
            out = ctypes.create_string_buffer(size.value)
            if lib.EVP_DigestSign(mctx, out, ctypes.byref(size), bytes(message),
                                  len(message)) <= 0:
                raise _error("SM2 sign")
            return out.raw[:size.value]
        finally:
            lib.EVP_MD_CTX_free(mctx)


def available() -> bool:
    try:
        libcrypto()
    except Sm2Error:
        return False
    return True
