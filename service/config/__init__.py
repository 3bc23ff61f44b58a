"""Configuration logic behind the configuration page: the forms read strictly, connection checks with hints,
a connection saved after its test, the main configuration and its pickers, and what the page shows."""
