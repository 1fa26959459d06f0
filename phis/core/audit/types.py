"""Audit event types: fixed numbers, never renumbered (STYLE.md §7.5, Zulip style)."""

from enum import IntEnum, unique


@unique
class AuditEventType(IntEnum):
    # changes of business records
    RECORD_CREATED = 101
    RECORD_UPDATED = 102
    RECORD_DELETED = 103
    # reads of personal data
    RECORD_VIEWED = 201
    RECORD_SEARCHED = 202
    RECORD_EXPORTED = 203
    IDENTIFIER_UNMASKED = 204
    RECORD_PRINTED = 205
    # security
    LOGIN_SUCCEEDED = 301
    LOGIN_FAILED = 302
    ACCOUNT_LOCKED = 303
    ACCOUNT_UNLOCKED = 304
    LOGOUT = 305
    PASSWORD_CHANGED = 306
    SECOND_FACTOR_ENROLLED = 307
    SECOND_FACTOR_FAILED = 308
    SECOND_FACTOR_PASSED = 309
    ROLE_CHANGED = 310
    SESSION_EXPIRED = 311
    AUDIT_PURGED = 320
    AUDIT_VERIFIED = 321
    # signatures and workflow
    RECORD_SIGNED = 401
    SIGNATURE_VERIFIED = 402
    WORKFLOW_TRANSITION = 410


class Category:
    CHANGE = "change"
    ACCESS = "access"
    SECURITY = "security"
    SIGNATURE = "signature"


def category_of(event: int) -> str:
    if 100 <= event < 200:
        return Category.CHANGE
    if 200 <= event < 300:
        return Category.ACCESS
    if 400 <= event < 500:
        return Category.SIGNATURE
    return Category.SECURITY
