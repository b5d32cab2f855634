"""Form errors in the shape the GOV.UK error summary and inline error messages expect."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request


@dataclass
class FormErrors:
    """Errors by field name, in the order they were found (the summary lists them so)."""

    by_field: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, found: dict[str, str]) -> FormErrors:
        """Errors an engine returned as {field: message}, in their order."""
        errors = cls()
        for key, message in found.items():
            errors.add(key, message)
        return errors

    def add(self, field_name: str, message: str) -> None:
        self.by_field.setdefault(field_name, message)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def get(self, field_name: str) -> dict[str, str] | None:
        """The `errorMessage` parameter for a govuk macro, or None."""
        message = self.by_field.get(field_name)
        return {"text": message} if message else None

    def summary(self) -> list[dict[str, str]]:
        """The `errorList` parameter for govukErrorSummary; each links to its field."""
        return [{"text": m, "href": f"#{f}"} for f, m in self.by_field.items()]


async def form_data(request: Request) -> dict[str, str]:
    """A route dependency: the submitted form as plain strings (files are left out).

    Lets a sync route read its whole form, e.g. rows of fields named ``measures-0-name``.
    The CSRF check has parsed the form already; Starlette caches it on the request.
    """
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}
