"""Presigners for each storage provider: pure functions of credentials, inputs and a clock; no cloud SDK."""
