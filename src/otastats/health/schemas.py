"""The health answer in the OpenAPI document (the shape of otastats.health.answer)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Count = Annotated[int, Field(ge=0)]
Rate = Annotated[float, Field(ge=0)]


class HealthCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: Count = Field(description="Devices that checked in (check-in actions, device_seen)")
    installs: Count = Field(description="Devices that reported `set`")
    install_failures: Count = Field(description="Devices that reported `set_fail`")
    rollbacks: Count = Field(description="Devices that reported `update_fail`")
    download_failures: Count = Field(
        description="Devices that reported another `*_fail` or `insufficient_disk_space`"
        " (the legacy `download_fail` of old Capacitor plugins left out)"
    )
    crashes: Count = Field(description="Devices that reported a crash, ANR or kill")
    js_errors: Count = Field(description="Devices that reported a JavaScript error")


class HealthDaily(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: list[Count]
    installs: list[Count]
    install_failures: list[Count]
    rollbacks: list[Count]
    download_failures: list[Count]
    crashes: list[Count]
    js_errors: list[Count]


class HealthRates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rollback: Rate | None = Field(description="`totals.rollbacks / totals.installs`, or null")
    crash: Rate | None = Field(description="`totals.crashes / totals.devices`, or null")


class HealthVersion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(description="The version name")
    totals: HealthCounts = Field(
        description="Distinct devices of each class on any day up to `to` (whole history)"
    )
    rates: HealthRates
    daily: HealthDaily = Field(description="Distinct devices of each class, one per label day")


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[dt.date] = Field(description="Every day of the range")
    versions: list[HealthVersion] = Field(
        description="Every version with a non-zero total, by the first day of any of its"
        " counted reports, then by version name"
    )


HEALTH_CSV = (
    "version,date,devices,installs,install_failures,rollbacks,download_failures,crashes,"
    "js_errors,rollback_rate,crash_rate\r\n"
    "1.7.0,total,612,580,3,7,12,2,40,0.012068965517241379,0.0032679738562091504\r\n"
    "1.7.0,2026-11-20,300,290,1,3,5,1,20,,\r\n"
)
