"""The console's forms (Flask-WTF): every POST form carries the CSRF token; the GET filter forms
change nothing and carry none (a token in a URL would leak into logs and history).

Field checks here are the shape only, with the API's limits (``ecert.domain``); the services
check the rest and their per-field codes are shown beside the fields. Error messages are codes
of the catalogue (``ecert.domain.i18n``), rendered in the page's language.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ecert.domain import rules, validation
from ecert.security import MAX_PASSWORD_LENGTH

TOTP = Regexp(validation.TOTP_CODE_RE.pattern, message="totp_format")


def _choices(codes: Any) -> list[SelectChoice]:
    # The labels are the page's (its language); the form only checks the value is one of these.
    return [SelectChoice(value=code, label=code) for code in codes]


class LoginForm(FlaskForm):
    username = StringField(
        validators=[DataRequired("required"), Length(max=validation.USERNAME_MAX, message="too_long")]
    )
    password = PasswordField(validators=[DataRequired("required"), Length(max=MAX_PASSWORD_LENGTH, message="too_long")])
    totp = StringField(validators=[DataRequired("required"), TOTP])


class CodeForm(FlaskForm):
    """The first-sign-in confirmation: one fresh code."""

    totp = StringField(validators=[DataRequired("required"), TOTP])


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token (approve, sign out)."""


class RefuseForm(FlaskForm):
    reason = SelectField(choices=_choices(sorted(rules.REFUSAL_REASON_CODES)), validate_choice=True)
    note = TextAreaField(validators=[DataRequired("required"), Length(max=rules.NOTE_MAX, message="too_long")])
    # Empty on the first post (the preview), "yes" on the second (the decision).
    confirm = HiddenField()


class RevokeForm(FlaskForm):
    reason = SelectField(choices=_choices(sorted(rules.REVOCATION_REASON_CODES)), validate_choice=True)
    note = TextAreaField(validators=[Optional(), Length(max=rules.NOTE_MAX, message="too_long")])
    replacement = StringField(
        validators=[Optional(), Length(max=validation.CERTIFICATE_NUMBER_MAX, message="too_long")]
    )
    totp = StringField(validators=[DataRequired("required"), TOTP])


def field_errors(form: FlaskForm) -> dict[str, list[str]]:
    """The form's field errors as catalogue codes (WTForms' own choice message becomes one)."""
    errors: dict[str, list[str]] = {}
    for name, messages in form.errors.items():
        if name == "csrf_token":
            continue
        errors[str(name)] = [m if m.replace("_", "").isalpha() and m.islower() else "invalid_choice" for m in messages]
    return errors
