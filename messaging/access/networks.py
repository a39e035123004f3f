"""A key's IP allowlist (the caller's address is read by config.addresses)."""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest

from config.addresses import client_address, parse_ip
from config.api import ApiError

from ..models import ApiKey

__all__ = ["check_network", "client_address"]


def check_network(api_key: ApiKey, request: HttpRequest) -> None:
    """A 401 unless the caller's address is in the key's allowlist (an empty list allows all)."""
    if not api_key.allowed_networks:
        return
    address = parse_ip(client_address(request))
    if address is None:
        raise ApiError(401, "Invalid whitelisted IPs")
    for network in api_key.allowed_networks:
        if address in ipaddress.ip_network(network, strict=False):
            return
    raise ApiError(401, "Invalid whitelisted IPs")
