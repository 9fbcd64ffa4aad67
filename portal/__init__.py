"""The frame: settings, URLs, the Celery app (portal.celery, loaded by PortalConfig.ready),
roles, first-run setup and the API's shared parts. Imports no feature."""
