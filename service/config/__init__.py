"""Configuration logic behind the configuration page: connection checks with hints, main configuration."""
