"""The shared API kit: one NinjaAPI, session/bearer auth, one error shape, permissions.

Every error is a 4xx JSON body ``{"code", "message", "message_en", "errors": [{"field",
"code", "message", "message_en"}]}`` (issue 2, "Bad input").
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from phis.core.exceptions import (
    ApplicationError,
    FieldError,
    PermissionDenied,
    ValidationFailed,
)

log = logging.getLogger(__name__)


class SessionAuth(APIKeyCookie):
    """Browser session (the pages' own fetches). CSRF is checked for unsafe methods."""

    param_name = "sessionid"

    def __call__(self, request: HttpRequest):
        # No logged-in session: not ours to answer, and no CSRF check (ninja's would raise
        # 403 on every POST before BearerAuth is tried, so tokens could not write).
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super().__call__(request)

    def _get_key(self, request: HttpRequest):
        try:
            return super()._get_key(request)
        except HttpError:
            raise ApplicationError(code="csrf_failed", message="页面已过期，请刷新后重试",
                                   message_en="CSRF check failed; reload the page and retry",
                                   status=403) from None

    def authenticate(self, request: HttpRequest, key):
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


API_SCOPE = "phis.api"


class BearerAuth(HttpBearer):
    """OAuth2/OIDC access tokens issued by PHIS itself to the city's systems. A token opens
    the API only when the user granted the ``phis.api`` scope; a sign-in token (openid,
    profile) does not."""

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
        if access is None or not access.is_valid([API_SCOPE]) or access.user is None \
                or not access.user.is_active:
            return None
        request.user = access.user
        from phis.core.audit.context import actor_for_user, current_actor, set_actor

        base = current_actor()
        set_actor(actor_for_user(access.user, ip_address=base.ip_address,
                                 request_id=base.request_id, channel="api"))
        return access.user


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


def _nul_fields(request: HttpRequest) -> list[str]:
    """Inputs holding a NUL character, which PostgreSQL text columns cannot store (a
    ``DataError`` and a 500 otherwise; SQLite accepts them)."""
    found = []
    if "\x00" in request.path:
        found.append("path")
    sources = [request.GET]
    if request.method not in ("GET", "HEAD") and request.content_type in (
            "multipart/form-data", "application/x-www-form-urlencoded"):
        sources.append(request.POST)
        found += [f"{name}.name" for name, files in request.FILES.lists()
                  if any("\x00" in (f.name or "") for f in files)]
    for source in sources:
        found += [key or "query" for key, values in source.lists()
                  if "\x00" in key or any("\x00" in v for v in values)]
    if request.content_type == "application/json" and b"\\u0000" in request.body:
        def walk(value, path):
            if isinstance(value, str) and "\x00" in value:
                found.append(".".join(path) or "body")
            elif isinstance(value, dict):
                for key, item in value.items():
                    walk(key, path) if "\x00" in key else walk(item, [*path, key])
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    walk(item, [*path, str(i)])

        try:
            walk(json.loads(request.body), [])
        except ValueError:
            found.append("body")
    return found


def handles_nul(view_func):
    """Mark an endpoint whose selectors strip NUL from user text themselves (codes search):
    the API-wide NUL guard then lets its requests through."""
    view_func.phis_handles_nul = True
    return view_func


def _reject_nul(view_func):
    """Applied to every operation after authentication and parsing, before the view."""
    if getattr(view_func, "phis_handles_nul", False):
        return view_func

    @functools.wraps(view_func)
    def wrapper(request, *args, **kwargs):
        fields = _nul_fields(request)
        if fields:
            raise ValidationFailed([FieldError(f, "null_character", "不能包含空字符(NUL)",
                                               "Must not contain NUL characters")
                                    for f in dict.fromkeys(fields)])
        return view_func(request, *args, **kwargs)

    return wrapper


_HTTP_ZH = {400: "请求无效", 401: "请先登录", 403: "没有执行此操作的权限",
            404: "记录不存在或无权查看", 405: "不支持此请求方法", 413: "请求内容过大",
            415: "不支持的请求格式", 429: "请求过于频繁，请稍后再试"}


def _error_body(status: int, code: str, message_en: str, message: str = "") -> dict:
    return {"code": code, "message": message or _HTTP_ZH.get(status, "请求无效"),
            "message_en": message_en, "errors": []}


def _json_not_allowed(view):
    """Ninja answers an unsupported method with a bare text 405; give it the error shape."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = JsonResponse(_error_body(405, "method_not_allowed",
                                                f"Method not allowed (allowed: {allowed})"),
                                    status=405)
            response["Allow"] = allowed
        return response

    return wrapper


@csrf_exempt
def _api_not_found(request, *args, **kwargs):
    return JsonResponse(_error_body(404, "not_found", "No such API endpoint", "接口不存在"),
                        status=404)


class PhisNinjaAPI(NinjaAPI):
    """Unknown paths under /api/ and unsupported methods answer in the error shape too."""

    def _get_urls(self):
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern) and not asyncio.iscoroutinefunction(
                    pattern.callback):
                pattern.callback = _json_not_allowed(pattern.callback)
        return [*urls, re_path(r"^.*$", _api_not_found, name="not-found")]


def build_api() -> NinjaAPI:
    api = PhisNinjaAPI(
        title="PHIS 东营市公共卫生信息系统 API",
        version="1",
        description=("Errors: 4xx JSON `{code, message, message_en, errors[]}`. "
                     "Auth: browser session or an OAuth2 bearer token from `/o/token/`."),
        auth=[SessionAuth(), BearerAuth()],
        urls_namespace="api",
        docs_url="/docs",
    )
    api.add_decorator(_reject_nul, mode="operation")

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

    # An id or number beyond the database's integer range (SQLite raises OverflowError,
    # PostgreSQL a DataError) is bad input, whichever endpoint and field carried it.
    @api.exception_handler(OverflowError)
    @api.exception_handler(DataError)
    def out_of_range(request, exc):
        return api.create_response(request, {
            "code": "out_of_range", "message": "数值超出允许范围",
            "message_en": "A number is outside the allowed range", "errors": []}, status=422)

    # Django refuses some requests before any endpoint runs (more than
    # DATA_UPLOAD_MAX_NUMBER_FIELDS parameters, a body over the size limit): still the JSON
    # error shape, not its HTML 400 page.
    @api.exception_handler(SuspiciousOperation)
    def suspicious(request, exc):
        too_big = isinstance(exc, RequestDataTooBig)
        return api.create_response(request, {
            "code": "request_too_large" if too_big else "bad_request",
            "message": "请求过大" if too_big else "请求参数过多或请求无效",
            "message_en": "The request is too large" if too_big
            else "Too many parameters or an invalid request",
            "errors": [] if too_big else [{
                "field": "query", "code": "too_many_fields", "message": "请求参数过多",
                "message_en": "Too many parameters"}]}, status=413 if too_big else 400)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        return api.create_response(request, _error_body(exc.status_code, "http_error", str(exc)),
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
