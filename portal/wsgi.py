import gc
import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

# Container objects allocated (net) between two collections of the youngest generation;
# Python's default is 700.
YOUNG_COLLECTION_THRESHOLD = 10_000

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
# The URLconf and every view module it names, imported as each server process starts rather
# than in the first request it serves: about 0.7 s of CPU, which a web node's second worker
# otherwise spends in the middle of live traffic (docs/performance.md section 7).
import_module(settings.ROOT_URLCONF)
# What is loaded by now lives as long as the process: frozen, it is out of the collector's
# sight, and a full collection walks only what requests leave behind. Unfrozen, one walked
# the ~165,000 objects of Django and Callboard every few hundred requests, for about 100 ms
# of CPU holding every thread of the process; a larger first generation makes the
# collections that remain ten times fewer (docs/performance.md, section 2, "Full collections").
gc.freeze()
gc.set_threshold(YOUNG_COLLECTION_THRESHOLD)
