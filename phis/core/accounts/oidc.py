"""OIDC provider claims: the city's other systems sign users in through PHIS (C1 unified
identity). Claims carry the user's role and org unit so a partner system can scope too."""

from oauth2_provider.oauth2_validators import OAuth2Validator


class PhisOIDCValidator(OAuth2Validator):
    oidc_claim_scope = OAuth2Validator.oidc_claim_scope | {
        "phis_role": "profile", "phis_org_code": "profile", "phis_org_name": "profile"}

    def get_additional_claims(self):
        # The request-agnostic form (callables of the oauthlib request): django-oauth-toolkit
        # then lists these claims in the discovery document's ``claims_supported``; with
        # the ``(self, request)`` form it advertises only ``sub``.
        return {
            "name": lambda r: r.user.display_name,
            "preferred_username": lambda r: r.user.username,
            "email": lambda r: r.user.email,
            "phis_role": lambda r: r.user.role,
            "phis_org_code": lambda r: r.user.org_unit.code if r.user.org_unit_id else "",
            "phis_org_name": lambda r: r.user.org_unit.name if r.user.org_unit_id else "",
        }
