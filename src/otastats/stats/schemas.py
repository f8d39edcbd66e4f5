"""Response shapes of the Statistics API, for the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StatsPoint(BaseModel):
    date: str
    mau: int
    storage: int
    bandwidth: int


class AppStatsPoint(StatsPoint):
    app_id: str


class OrgBreakdown(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    global_: list[StatsPoint] = Field(alias="global")
    byApp: list[AppStatsPoint]


class BundleDataset(BaseModel):
    label: str
    data: list[float]
    counts: list[int]


class BundleUsage(BaseModel):
    labels: list[str]
    datasets: list[BundleDataset]
