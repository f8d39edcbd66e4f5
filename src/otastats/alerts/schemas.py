"""The answer of GET /alerts/app/:app_id in the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class AppAlert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alert_id: str
    app_id: str
    metric: Literal["rollback_rate", "crash_rate", "mau", "bandwidth", "storage"]
    above: Annotated[float, Field(ge=0)] = Field(description="The threshold (strictly above)")
    min_devices: Annotated[int, Field(ge=0)] | None = Field(
        description="For a rate: the divisor it needs before it can fire; null for a level"
    )
    webhook_origin: str = Field(
        description="The scheme, host and port of the webhook (its path, query and credentials"
        " are not shown)"
    )
    state: Literal["ok", "firing"]
    changed_at: dt.datetime | None = Field(description="The last state change; null if none")
    created_at: dt.datetime
    value: float | None = Field(description="The watched figure now; null when it has none")
    version: str | None = Field(description="The version a rate is about; null for a level")


class AppAlerts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_id: str
    alerts: list[AppAlert] = Field(description="By creation time")
