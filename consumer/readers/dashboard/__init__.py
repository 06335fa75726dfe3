"""`learnstream dashboard`: funnels, engagement, retention, at-risk learners and data quality
as a page of charts over the read-only snapshot (README "Dashboard").

- `filters`: the page's typed URL parameters, validated (pure).
- `panels`: each named panel's SQL on the views and the JSON it becomes (pure but for the
  query function it is handed).
- `reader`: the one thread that talks to DuckDB, the snapshot's identity and the cache.
- `app`: the aiohttp application (routes, token, static files); `main`: the command.
"""
