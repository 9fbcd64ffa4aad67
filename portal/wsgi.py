import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
# The URLconf and every view module it names, imported as each server process starts rather
# than in the first request it serves: about 0.7 s of CPU, which a web node's second worker
# otherwise spends in the middle of live traffic (docs/performance.md section 7).
import_module(settings.ROOT_URLCONF)
