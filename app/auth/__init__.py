"""Authentication: admin token, reseller API keys (`hk_`), organisation ingest keys (`ik_`)."""
