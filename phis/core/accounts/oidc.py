"""OIDC provider claims: the city's other systems sign users in through PHIS (C1 unified
identity). Claims carry the user's role and org unit so a partner system can scope too."""

from oauth2_provider.oauth2_validators import OAuth2Validator


class PhisOIDCValidator(OAuth2Validator):
    oidc_claim_scope = OAuth2Validator.oidc_claim_scope | {
        "phis_role": "profile", "phis_org_code": "profile", "phis_org_name": "profile"}

    def get_additional_claims(self, request):
        user = request.user
        return {
            "name": user.display_name,
            "preferred_username": user.username,
            "email": user.email,
            "phis_role": user.role,
            "phis_org_code": user.org_unit.code if user.org_unit_id else "",
            "phis_org_name": user.org_unit.name if user.org_unit_id else "",
        }
