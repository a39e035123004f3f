"""Create the four roles; on upgrade, superusers become Admins and everyone else a Viewer."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# NOTE: reads the current matrix on purpose: roles_grant only adds, and after every
# migrate it runs again (accounts/signals.py), so the matrix is the one home of each role.
from accounts.roles import ADMIN, VIEWER, roles_grant


def forwards(apps, schema_editor):
    # Permissions are normally created after all migrations; on a fresh database they would
    # not exist yet, so create them now for the roles to hold.
    for app_config in apps.get_app_configs():
        # create_permissions skips an app without a models module, which historical app
        # configs never have; the previous value is put back (a test passes live apps).
        previous = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = previous
    Group = apps.get_model("auth", "Group")
    roles_grant(group_model=Group, permission_model=apps.get_model("auth", "Permission"))
    User = apps.get_model("auth", "User")
    admin, viewer = Group.objects.get(name=ADMIN), Group.objects.get(name=VIEWER)
    for user in User.objects.all():
        if user.groups.exists():
            continue  # someone gave them groups already: keep them
        user.groups.add(admin if user.is_superuser else viewer)
    # Only Admins are staff: Django's admin follows the roles from now on.
    User.objects.filter(is_superuser=False, is_staff=True).update(is_staff=False)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("campaigns", "0002_messagevariation_first_sent_at"),
        ("analytics", "0004_skipped_and_sandboxed"),
        ("messaging", "0004_delivery_fewer_indexes"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
