"""A tenant's connections (service.connections): what is in force, readiness, the main configuration."""
