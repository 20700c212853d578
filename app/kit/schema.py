"""The camelCase base model every request and response schema derives from."""

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
