"""Tests of the REST endpoints (messaging.api) and the OpenAPI document."""
