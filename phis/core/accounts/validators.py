"""Password complexity: at least 3 of 4 character classes (SECURITY.md §8 item 1)."""

from django.core.exceptions import ValidationError


class ComplexityValidator:
    def validate(self, password: str, user=None) -> None:
        classes = [any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)]
        if sum(classes) < 3:
            raise ValidationError(
                "密码须包含大写字母、小写字母、数字、符号中的至少三类 / "
                "The password needs at least 3 of: upper case, lower case, digits, symbols",
                code="password_too_simple")
        if user is not None and user.get_username() and \
                user.get_username().lower() in password.lower():
            raise ValidationError("密码不能包含用户名 / The password may not contain the username",
                                  code="password_contains_username")

    def get_help_text(self) -> str:
        return ("密码须包含大写字母、小写字母、数字、符号中的至少三类，且不含用户名 / "
                "At least 3 of upper case, lower case, digits and symbols, without the username")
