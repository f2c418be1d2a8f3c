"""The telemetry generator of the demo: traces, logs, metrics and alerts in the tables of the
OpenTelemetry Collector's ClickHouse exporter, written as Parquet files (`generate`), plus
the same metrics as OpenMetrics text to backfill a Prometheus (`openmetrics`)."""
