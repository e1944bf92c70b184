"""Reading a posted form into the API's own input model, so a page accepts exactly what the API accepts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from kibitz.server.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], form: Mapping[str, object]) -> M:
    """Return `form` as `model`, or raise ValidationFailed naming the wrong fields (never their values)."""
    try:
        return model.model_validate(dict(form))
    except ValidationError as error:
        problems = [{"loc": ["form", *map(str, e["loc"])], "msg": e["msg"]} for e in error.errors()]
        fields = ", ".join(sorted({".".join(map(str, e["loc"])) or "form" for e in error.errors()}))
        raise ValidationFailed(f"Check these fields: {fields}.", problems) from None
