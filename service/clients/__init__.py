"""HTTP clients for the platforms the connector talks to."""
