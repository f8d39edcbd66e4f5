"""Response shape of GET /me, for the OpenAPI document."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class MeUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UUID
    email: str


class MeOrganization(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: UUID
    name: str
    readable: bool = Field(description="Whether the key may read the organization's totals")
    apps: list[str] = Field(description="The organization's apps that the key may read")


class Me(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: MeUser
    organizations: list[MeOrganization]
    apps: list[str] = Field(description="Every app the key may read, in code-point order")
