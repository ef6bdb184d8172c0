"""Adapters from the outside world to the ticket services, one package per channel.

Each adapter parses and authenticates what arrives, then calls `tickets.services`; it owns no
SLA rule. `email`: mail in (pipe, IMAP, HTTP hook) and customer mail out.
"""
