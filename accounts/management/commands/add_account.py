"""`manage.py add_account NAME --role Marketer`: a dashboard account with a role."""

from __future__ import annotations

import getpass
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import ROLES
from accounts.services import role_set


class Command(BaseCommand):
    help = "Create a dashboard account with a role (the password is asked for, or generated)."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, required=True)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--generate-password", action="store_true",
            help="Print a random password instead of asking for one.",
        )

    def handle(self, *args, username: str, role: str, email: str, generate_password: bool,
               **options) -> None:  # type: ignore[no-untyped-def]
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"an account named {username!r} exists already")
        password = secrets.token_urlsafe(12) if generate_password else getpass.getpass()
        if not password:
            raise CommandError("a password is required")
        user = User.objects.create_user(username=username, email=email, password=password)
        role_set(user=user, role=role, by=None)
        self.stdout.write(f"Account {username} created with role {role}.")
        if generate_password:
            self.stdout.write(f"Password: {password}")
