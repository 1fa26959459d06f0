"""B4 permissions (STYLE.md §7.5): ``"esign.<verb>_<entity>"``."""

from enum import StrEnum

from phis.core.accounts.permissions import Role, grant


class EsignPerm(StrEnum):
    VIEW_CERTIFICATES = "esign.view_certificate"
    ENROL = "esign.enrol_certificate"       # get / renew one's own certificate
    SIGN = "esign.sign_record"              # sign with one's own key (session + PIN)
    USE_SEAL = "esign.use_seal"             # sign with one's institution's seal
    VIEW_SIGNATURES = "esign.view_signature"
    VERIFY = "esign.verify_signature"
    MANAGE_CA = "esign.manage_certificate"  # issue, revoke, renew, import, CRL


_EVERY_STAFF = (EsignPerm.VIEW_CERTIFICATES, EsignPerm.ENROL, EsignPerm.SIGN,
                EsignPerm.VIEW_SIGNATURES, EsignPerm.VERIFY)


def grant_defaults() -> None:
    for role in Role:
        grant(role, EsignPerm.VIEW_CERTIFICATES, EsignPerm.VERIFY, EsignPerm.VIEW_SIGNATURES)
        if role != Role.SYSTEM_ADMIN:
            grant(role, *_EVERY_STAFF)
    for role in (Role.CITY_CDC, Role.COUNTY_CDC_REVIEWER, Role.HOSPITAL_CLERK,
                 Role.CITY_HEALTH_COMMISSION, Role.COUNTY_HEALTH_BUREAU, Role.WASTE_STAFF,
                 Role.CSSD_STAFF, Role.BLOOD_STAFF):
        grant(role, EsignPerm.USE_SEAL)
    grant(Role.SYSTEM_ADMIN, EsignPerm.MANAGE_CA)
