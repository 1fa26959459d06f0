"""The shared API kit: one NinjaAPI, session/bearer auth, one error shape, permissions.

Every error is a 4xx JSON body ``{"code", "message", "message_en", "errors": [{"field",
"code", "message", "message_en"}]}`` (issue 2, "Bad input").
"""

from __future__ import annotations

import functools
import hashlib
import logging

from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from phis.core.exceptions import ApplicationError, FieldError, PermissionDenied

log = logging.getLogger(__name__)


class SessionAuth(APIKeyCookie):
    """Browser session (the pages' own fetches). CSRF is checked for unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key):
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


class BearerAuth(HttpBearer):
    """OAuth2/OIDC access tokens issued by PHIS itself to the city's systems."""

    def authenticate(self, request: HttpRequest, token: str):
        from oauth2_provider.models import AccessToken

        token = token.strip()
        if not token:
            return None
        # Tokens are stored hashed (COMPLIANT_BCP_RFC9700_TOKEN_STORAGE): the ``token``
        # column is blank, so look the token up by its SHA-256 checksum, as the toolkit does.
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        access = AccessToken.objects.select_related("user", "application") \
            .filter(token_checksum=checksum).first()
        if access is None or access.is_expired() or access.user is None \
                or not access.user.is_active:
            return None
        request.user = access.user
        from phis.core.audit.context import actor_for_user, current_actor, set_actor

        base = current_actor()
        set_actor(actor_for_user(access.user, ip_address=base.ip_address,
                                 request_id=base.request_id, channel="api"))
        return access.user


def _checksum(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def _field_name(loc: list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "form")]
    return ".".join(parts) or "body"


_PYDANTIC_ZH = {
    "missing": "必填项",
    "extra_forbidden": "不允许的字段",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "date_from_datetime_parsing": "日期格式应为YYYY-MM-DD",
    "date_parsing": "日期格式应为YYYY-MM-DD",
    "datetime_parsing": "时间格式无效",
    "string_too_long": "内容过长",
    "string_too_short": "内容过短",
    "literal_error": "取值无效",
    "enum": "取值无效",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "json_invalid": "JSON格式无效",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "bool_parsing": "应为true或false",
}


def build_api() -> NinjaAPI:
    api = NinjaAPI(
        title="PHIS 东营市公共卫生信息系统 API",
        version="1",
        description=("Errors: 4xx JSON `{code, message, message_en, errors[]}`. "
                     "Auth: browser session or an OAuth2 bearer token from `/o/token/`."),
        auth=[SessionAuth(), BearerAuth()],
        urls_namespace="api",
        docs_url="/docs",
    )

    @api.exception_handler(ApplicationError)
    def application_error(request, exc: ApplicationError):
        return api.create_response(request, exc.as_dict(), status=exc.status)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request, exc: NinjaValidationError):
        errors = [FieldError(_field_name(list(e.get("loc", []))), e.get("type", "invalid"),
                             _PYDANTIC_ZH.get(e.get("type", ""), "输入无效"),
                             e.get("msg", "Invalid value")).as_dict() for e in exc.errors]
        return api.create_response(request, {
            "code": "validation_failed", "message": "输入有误，请检查标出的字段",
            "message_en": "Some fields are invalid; see the field errors", "errors": errors},
            status=422)

    @api.exception_handler(AuthenticationError)
    def auth_error(request, exc):
        return api.create_response(request, {
            "code": "not_authenticated", "message": "请先登录", "message_en": "Log in first",
            "errors": []}, status=401)

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return api.create_response(request, {
            "code": "not_found", "message": "记录不存在或无权查看",
            "message_en": "Not found or outside your scope", "errors": []}, status=404)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        return api.create_response(request, {
            "code": "http_error", "message": str(exc), "message_en": str(exc), "errors": []},
            status=exc.status_code)

    return api


def requires(*perms: str):
    """Declare the permissions an endpoint or view needs (SECURITY.md §8 item 12)."""

    def decorator(func):
        @functools.wraps(func)
        def wrapper(request, *args, **kwargs):
            user = request.user
            missing = [p for p in perms if not user.has_phis_perm(p)]
            if missing:
                raise PermissionDenied()
            return func(request, *args, **kwargs)

        wrapper.phis_permissions = tuple(str(p) for p in perms)
        return wrapper

    return decorator
