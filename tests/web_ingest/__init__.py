"""Web pages and feeds: safe fetching, extraction, the feed registry, and their CLI."""
