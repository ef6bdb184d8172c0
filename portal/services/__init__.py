"""Every write the portal app owns, by sub-domain; the names are re-exported here.

- `heartbeats`: background processes proving they are alive.
- `staff`: staff members and their roles as permission groups.
- `directory`: regions, teams, organisations and their members.
- `dead_letters`: the task guard's counts and parked messages.
- `profiles`: a person's time zone, email choices and API token; bouncing addresses.
- `idempotency`: the API's idempotency keys.
"""

from portal.services.dead_letters import (
    DeadLetterAlreadyRequeued,
    deadletter_park,
    deadletter_requeue,
    taskattempt_finish,
    taskattempt_start,
)
from portal.services.directory import (
    email_domain_save,
    member_from_email,
    member_save,
    organisation_save,
    region_save,
    team_save,
)
from portal.services.heartbeats import heartbeat_record
from portal.services.idempotency import (
    IDEMPOTENCY_KEY_TTL,
    IdempotencyKeyConflict,
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_release,
    idempotency_keys_forget,
    idempotency_keys_purge,
)
from portal.services.profiles import (
    EMAIL_PREFERENCES,
    api_token_create,
    api_token_revoke,
    member_bounce_clear,
    members_mark_bouncing,
    profile_email_preferences_update,
    profile_time_zone_update,
)
from portal.services.staff import (
    ROLE_PERMISSIONS,
    STAFF_APPS,
    agent_away_set,
    agent_save,
    staff_group_name,
    staff_permissions_sync,
)

__all__ = [
    "agent_away_set",
    "EMAIL_PREFERENCES",
    "member_bounce_clear",
    "members_mark_bouncing",
    "profile_email_preferences_update",
    "IDEMPOTENCY_KEY_TTL",
    "ROLE_PERMISSIONS",
    "STAFF_APPS",
    "DeadLetterAlreadyRequeued",
    "agent_save",
    "email_domain_save",
    "member_from_email",
    "member_save",
    "organisation_save",
    "region_save",
    "team_save",
    "IdempotencyKeyConflict",
    "api_token_create",
    "api_token_revoke",
    "deadletter_park",
    "deadletter_requeue",
    "heartbeat_record",
    "idempotency_key_claim",
    "idempotency_key_complete",
    "idempotency_key_release",
    "idempotency_keys_forget",
    "idempotency_keys_purge",
    "profile_time_zone_update",
    "staff_group_name",
    "staff_permissions_sync",
    "taskattempt_finish",
    "taskattempt_start",
]
