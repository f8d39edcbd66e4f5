"""Response shape of GET /me, for the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MeUser(BaseModel):
    user_id: str
    email: str


class MeOrganization(BaseModel):
    org_id: str
    name: str
    readable: bool = Field(description="Whether the key may read the organization's totals")
    apps: list[str] = Field(description="The organization's apps that the key may read")


class Me(BaseModel):
    user: MeUser
    organizations: list[MeOrganization]
    apps: list[str] = Field(description="Every app the key may read, in code-point order")
