from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "voiceapps.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox provider"
    default_auto_field = "django.db.models.BigAutoField"
