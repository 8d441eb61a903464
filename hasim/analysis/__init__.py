"""Closed-form failover model behind ``hasim advise``; depends on no simulator floor."""
