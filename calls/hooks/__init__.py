"""Everything a provider calls: the event webhooks and Voice Gateway hooks (events.py), the
answer URL and hosted menus (answer.py), and the raw-SQL lookups they share (common.py)."""
