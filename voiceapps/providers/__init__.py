"""Provider adapters: `base` (the interface), one module per provider, `registry`, `http`.

Django-free on purpose: the calling side turns models into `AccountConfig` /
`ApplicationConfig` and stores what the adapters return.
"""
