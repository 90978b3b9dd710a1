"""The one way our processes connect to Temporal: our namespace and our data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from config import Settings
from plumbing.codec import data_converter


def data_converter_for(settings: Settings) -> DataConverter:
    """Pydantic JSON payloads, encrypted when codec keys are configured."""
    keyring = settings.codec_keyring()
    return data_converter(*keyring) if keyring else data_converter(None, None)


async def connect(settings: Settings, *, metrics: bool = False) -> Client:
    """A client with our data converter; with `metrics`, the worker's Prometheus endpoint."""
    runtime = None
    if metrics and settings.metrics_port:
        runtime = Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(bind_address=f"0.0.0.0:{settings.metrics_port}")
            )
        )
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter_for(settings),
        runtime=runtime,
    )
