"""The camelCase base model every request and response schema derives from, and the
settings a request body is validated under."""

from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Schema(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        from_attributes=True,
        serialize_by_alias=True,
    )


class InputSchema(Schema):
    """Request bodies: unknown fields are refused, so typos fail loudly."""

    model_config = ConfigDict(extra="forbid")


# Set by `app.auth.route.ApiRoute` around FastAPI's body parsing, so a field validator can
# apply a setting (the URL policy's `HOOKLINE_ALLOW_PRIVATE_TARGETS`) and every field's
# error is reported in one 422. Outside a request it is None: validators use the strict
# default.
validation_settings: ContextVar[Any] = ContextVar("hookline_validation_settings", default=None)
