"""manage.py create_api_key NAME [--permission P ...] [--allow CIDR ...]

Prints the new key alone on the last line, so scripts can take it with `tail -n 1`.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.models import Permission
from messaging.services.api_keys import api_key_create


class Command(BaseCommand):
    help = "Create a REST API key (all permissions unless --permission is given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--permission", "-p", action="append", default=[], metavar="PERMISSION",
            help="repeatable; one of: " + ", ".join(Permission.values),
        )
        parser.add_argument(
            "--allow", action="append", default=[], metavar="CIDR",
            help="repeatable; only requests from these networks are accepted",
        )

    def handle(self, *args, name: str, permission: list[str], allow: list[str], **options):
        unknown = [p for p in permission if p not in Permission.values]
        if unknown:
            raise CommandError(
                f"unknown permission {', '.join(unknown)}; choose from: "
                + ", ".join(Permission.values)
            )
        try:
            api_key, key = api_key_create(
                name=name, permissions=permission or Permission.values, allowed_networks=allow
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            f"Created API key {api_key.name!r} ({api_key.prefix}…) with permissions: "
            + ", ".join(api_key.permissions) + ". It is shown once, below."
        )
        self.stdout.write(key)
