"""The email channel: every message in, none lost, none misfiled, no loops; customers hear back.

- `parse`: an RFC 5322 message read leniently (headers, body, attachments, machine mail);
- `reply_text`: quoted history and signatures stripped from replies;
- `ingest`: the one way in (`ingest(raw, mailbox=...)`), called by the pipe command, the IMAP
  poller and the HTTP hook, with quarantine and reprocessing;
- `imap`: polling the mailboxes configured in the admin;
- `outbound`: rendering and sending the customer emails the ticket services queue.
"""

from tickets.channels.email.ingest import (
    IngestResult,
    inbound_reprocess,
    inbound_reprocessable,
    ingest,
)

__all__ = ["IngestResult", "inbound_reprocess", "inbound_reprocessable", "ingest"]
