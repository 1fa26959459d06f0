"""The application error hierarchy. Services raise these; the API turns them into one JSON
shape ``{"code", "message", "message_en", "errors": [{"field", "code", "message",
"message_en"}]}`` with a 4xx status (phis/core/api.py)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    code: str
    message: str  # Chinese
    message_en: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message,
                "message_en": self.message_en}


@dataclass
class ApplicationError(Exception):
    code: str = "invalid"
    message: str = "请求无效"
    message_en: str = "Invalid request"
    errors: list[FieldError] = field(default_factory=list)
    status: int = 400

    def __post_init__(self) -> None:
        super().__init__(self.message_en)

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "message_en": self.message_en,
                "errors": [e.as_dict() for e in self.errors]}


class ValidationFailed(ApplicationError):
    def __init__(self, errors: list[FieldError], message: str = "输入有误，请检查标出的字段",
                 message_en: str = "Some fields are invalid; see the field errors") -> None:
        super().__init__(code="validation_failed", message=message, message_en=message_en,
                         errors=errors, status=422)


class NotFound(ApplicationError):
    def __init__(self, what_zh: str = "记录", what_en: str = "record") -> None:
        super().__init__(code="not_found", message=f"{what_zh}不存在或无权查看",
                         message_en=f"The {what_en} does not exist or is outside your scope",
                         status=404)


class PermissionDenied(ApplicationError):
    def __init__(self, message: str = "没有执行此操作的权限",
                 message_en: str = "You do not have permission for this action") -> None:
        super().__init__(code="permission_denied", message=message, message_en=message_en,
                         status=403)


class Conflict(ApplicationError):
    def __init__(self, message: str, message_en: str, code: str = "conflict") -> None:
        super().__init__(code=code, message=message, message_en=message_en, status=409)
