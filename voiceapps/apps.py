from django.apps import AppConfig


class VoiceappsConfig(AppConfig):
    name = "voiceapps"
    verbose_name = "Voice applications"
