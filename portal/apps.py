from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate
        from django.urls import register_converter

        # Every Django process gets the Celery app before any task is sent, so shared tasks
        # bind to it; it is not imported by the package itself, which adapters use too.
        import portal.celery  # noqa: F401
        import portal.checks  # noqa: F401  (registers the deploy checks)
        import portal.sessions  # noqa: F401  (its sign-in receiver)
        from portal.params import IdConverter
        from portal.roles import sync_role_permissions

        register_converter(IdConverter, "id")  # every <id:pk> in a route (portal/params.py)

        post_migrate.connect(sync_role_permissions, dispatch_uid="portal.sync_role_permissions")
