from datetime import datetime

from app.kit.schema import Schema


class OrganisationOut(Schema):
    id: str
    name: str
    created_at: datetime


class OrganisationCreated(OrganisationOut):
    ingest_key: str
