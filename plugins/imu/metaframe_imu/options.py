"""The IMU reader's options, validated (a bad value names the option and what is allowed)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

GROUP_ORDER = ("acc", "gyro", "mag")
TIMESTAMP_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


class IMUReadOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: list[Literal["acc", "gyro", "mag"]] = Field(default_factory=lambda: ["acc", "gyro"])  # sensors read, in this order
    optional_groups: list[Literal["acc", "gyro", "mag"]] = Field(default_factory=list)  # may be absent: zeros, present=False
    acc_columns: list[str] = Field(default_factory=lambda: ["acc_x", "acc_y", "acc_z"])
    gyro_columns: list[str] = Field(default_factory=lambda: ["gyro_x", "gyro_y", "gyro_z"])
    mag_columns: list[str] = Field(default_factory=lambda: ["mag_x", "mag_y", "mag_z"])
    timestamp_column: str | None = "timestamp"  # None: rows are taken as regular at `rate`
    timestamp_unit: Literal["s", "ms", "us", "ns"] = "s"  # for numeric stamps; text stamps are parsed as dates
    rate: float | None = 50.0  # Hz to resample onto; None: the median rate of the timestamps
    acc_unit: Literal["m/s2", "m/s^2", "g"] = "m/s2"  # what the source holds; output is m/s²
    gyro_unit: Literal["rad/s", "deg/s"] = "rad/s"  # what the source holds; output is rad/s
    gravity: Literal["keep", "mean", "highpass"] = "keep"
    gravity_cutoff_hz: float = 0.3
    nan_policy: Literal["error", "ffill", "zero", "interpolate"] = "error"
    channels_first: bool = True  # arrays / .npy: [C, T] (False: [T, C])
    max_seconds: float | None = Field(default=86400.0, gt=0)  # longer timestamp spans are refused (None: no limit)

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("groups must name at least one of acc, gyro, mag")
        if len(set(value)) != len(value):
            raise ValueError(f"groups {value} repeats a group")
        return [g for g in GROUP_ORDER if g in value]

    @model_validator(mode="after")
    def _optional_within_groups(self) -> "IMUReadOptions":
        stray = [g for g in self.optional_groups if g not in self.groups]
        if stray:
            raise ValueError(f"optional_groups {stray} are not in groups {self.groups}")
        if set(self.optional_groups) == set(self.groups):
            raise ValueError("at least one group must be required (not every group can be optional)")
        return self

    def columns(self, group: str) -> list[str]:
        return {"acc": self.acc_columns, "gyro": self.gyro_columns, "mag": self.mag_columns}[group]

    def layout(self) -> list[tuple[str, list[str]]]:
        """(group, column names) in output channel order."""
        return [(g, self.columns(g)) for g in self.groups]
