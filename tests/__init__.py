"""Test suite of byos."""
