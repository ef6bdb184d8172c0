"""The demo world, as data: five regions with their shifts and people, three SLA tiers,
twenty customer organisations, their people's names, and what their tickets are about.

The seed (`tickets.demo.seeding`) builds it in the database; the load generator
(`tickets.loadgen`) draws its load organisations and tickets from the same data.
"""

from dataclasses import dataclass
from decimal import Decimal

from contracts.models import SLATier
from contracts.sla_names import Priority
from tickets.models import Ticket

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
WEEK = (*WEEKDAYS, "sat", "sun")


def weekdays(start: str, end: str, days: tuple[str, ...] = WEEKDAYS) -> dict:
    """Weekly hours: the same interval on each of `days`."""
    return {day: [[start, end]] for day in days}


@dataclass(frozen=True)
class RegionSpec:
    code: str
    name: str
    time_zone: str
    country: str
    subdivision: str
    shift: tuple[str, str]
    agents: tuple[str, ...]  # first names; the first of each team leads it


REGIONS = (
    RegionSpec(
        "sg",
        "Singapore",
        "Asia/Singapore",
        "SG",
        "",
        ("08:00", "18:00"),
        ("Mei Tan", "Arjun Nair", "Siew Lin", "Hafiz Rahman", "Priya Das", "Wei Jie", "Nurul Aziz"),
    ),
    RegionSpec(
        "dxb",
        "Dubai",
        "Asia/Dubai",
        "AE",
        "",
        ("08:00", "17:00"),
        (
            "Layla Haddad",
            "Omar Farouk",
            "Sara Qureshi",
            "Yusuf Karim",
            "Aisha Noor",
            "Rami Saleh",
            "Hana Aziz",
        ),
    ),
    RegionSpec(
        "sao",
        "São Paulo",
        "America/Sao_Paulo",
        "BR",
        "SP",
        ("08:00", "18:00"),
        (
            "Ana Souza",
            "Bruno Lima",
            "Carla Mendes",
            "Diego Rocha",
            "Elisa Costa",
            "Felipe Alves",
            "Gabriela Reis",
        ),
    ),
    RegionSpec(
        "ber",
        "Berlin",
        "Europe/Berlin",
        "DE",
        "BE",
        ("08:00", "18:00"),
        (
            "Jonas Weber",
            "Lena Fischer",
            "Max Becker",
            "Sophie Wagner",
            "Felix Hoffmann",
            "Clara Schulz",
            "Paul Richter",
        ),
    ),
    RegionSpec(
        "nyc",
        "New York",
        "America/New_York",
        "US",
        "NY",
        ("08:00", "20:00"),
        (
            "Emily Carter",
            "James Miller",
            "Olivia Brooks",
            "Ethan Price",
            "Ava Morgan",
            "Noah Bennett",
            "Mia Foster",
        ),
    ),
)

# The follow-the-sun order: when a region's shift closes, round-the-clock work goes on in the
# next region on shift, in this order.
FOLLOW_THE_SUN = ("sg", "dxb", "ber", "sao", "nyc")
# Nights, weekends and the holidays every region shares (Christmas Eve, New Year's Eve): a duty
# team on call around the clock takes 24x7 work while no regional L1 shift is open. Based in
# Berlin; the first named leads it.
DUTY_REGION = "ber"
DUTY_AGENTS = ("Kai Lindqvist", "Nadia Petrov", "Tomas Ortega")
# L1 teams that give each new ticket to an agent themselves (the others pick from the queue).
AUTO_ASSIGN_TEAMS = ("sg", "nyc")
AGENT_CAP = 25

# (code, name, fee, coverage, objective,
#  {priority: (first, next, workaround, root cause, resolution, clocks counted around the clock)},
#  [(below %, credit %)]). Minutes; None: not promised.
TIERS = (
    (
        "standard",
        "Standard",
        Decimal("1500.00"),
        SLATier.Coverage.BUSINESS,
        Decimal("95.00"),
        {
            Priority.P2: (120, 240, None, None, 2880, ()),
            Priority.P3: (480, 480, None, None, 4800, ()),
            Priority.P4: (960, 960, None, None, 9600, ()),
        },
        [(Decimal("95"), Decimal("5")), (Decimal("90"), Decimal("10"))],
    ),
    (
        "business",
        "Business",
        Decimal("4000.00"),
        SLATier.Coverage.EXTENDED,
        Decimal("97.00"),
        {
            # The fix within 3 and 7 days of wall-clock time, weekends included.
            Priority.P1: (30, 60, 120, 480, 4320, ("resolution",)),
            Priority.P2: (60, 120, 240, 1440, 10080, ("resolution",)),
            Priority.P3: (240, 480, None, None, 2880, ()),
            Priority.P4: (480, 960, None, None, 4800, ()),
        },
        [
            (Decimal("97"), Decimal("5")),
            (Decimal("93"), Decimal("10")),
            (Decimal("85"), Decimal("20")),
        ],
    ),
    (
        "enterprise",
        "Enterprise",
        Decimal("12000.00"),
        SLATier.Coverage.ALWAYS,
        Decimal("99.00"),
        {
            # Respond in 10 minutes, work around in 30, the root cause in 2 hours, the fix in 48.
            Priority.P1: (10, 30, 30, 120, 2880, ()),
            Priority.P2: (30, 60, 120, 480, 1440, ()),
            Priority.P3: (120, 240, None, None, 1440, ()),
            Priority.P4: (480, 480, None, None, 4320, ()),
        },
        [
            (Decimal("99"), Decimal("10")),
            (Decimal("95"), Decimal("20")),
            (Decimal("90"), Decimal("30")),
        ],
    ),
)

# (name, region, tier or None for a customer whose contract has ended)
ORGANISATIONS = (
    ("Aurora Live", "ber", "enterprise"),
    ("Beacon Voice", "nyc", "enterprise"),
    ("Cobalt Streams", "sg", "business"),
    ("Delta Broadcast", "sao", "standard"),
    ("Ember Video", "dxb", "business"),
    ("Fjord Media", "ber", "standard"),
    ("Granite Games", "nyc", "business"),
    ("Harbour Telecom", "sg", "enterprise"),
    ("Iris Classrooms", "sao", "business"),
    ("Juniper Health", "nyc", "enterprise"),
    ("Kestrel Sports", "ber", "business"),
    ("Lumen Events", "dxb", "standard"),
    ("Monsoon Radio", "sg", "standard"),
    ("Nimbus Meetings", "ber", "enterprise"),
    ("Orchid Commerce", "sg", "business"),
    ("Pampas Music", "sao", "enterprise"),
    ("Quasar Esports", "nyc", "standard"),
    ("Riverside Church Online", "nyc", None),
    ("Saffron Learning", "dxb", "enterprise"),
    ("Tundra Security", "ber", "business"),
)

CUSTOMER_NAMES = (
    "Alice Martin",
    "Ben Okafor",
    "Chloe Dubois",
    "Daniel Kim",
    "Eva Novak",
    "Farah Malik",
    "George Ito",
    "Hannah Berg",
    "Ivan Petrov",
    "Julia Rossi",
    "Kofi Mensah",
    "Lucia Ortega",
)

SUBJECTS = {
    Ticket.ProductArea.STREAMING: (
        "Viewers in {city} see buffering every few minutes",
        "HLS playlist returns 404 after stream restart",
        "Ingest disconnects when bitrate goes above 8 Mbps",
        "Latency jumped from 3 s to 20 s on our main channel",
    ),
    Ticket.ProductArea.VOICE: (
        "One-way audio for Android callers",
        "Echo on calls bridged to PSTN",
        "Voice SDK crashes on iOS 19 when switching to Bluetooth",
    ),
    Ticket.ProductArea.VIDEO: (
        "Video freezes for participants behind corporate proxies",
        "Screen share is black on macOS",
        "Simulcast layers not switching under packet loss",
    ),
    Ticket.ProductArea.MESSAGING: (
        "Chat messages arrive out of order",
        "Presence events delayed by several minutes",
    ),
    Ticket.ProductArea.CONSOLE: (
        "Usage dashboard shows no data since yesterday",
        "Cannot rotate API keys in the console",
    ),
    Ticket.ProductArea.BILLING: (
        "Invoice shows minutes we did not use",
        "Please add a second billing contact",
    ),
}
ALERT_SUBJECTS = (
    "[ALERT] Ingest error rate above 5% in {city}",
    "[ALERT] TURN relay allocation failures",
    "[ALERT] Stream health check failing for channel main-01",
)

# Root causes agents record on the demo's P1 and P2 incidents, by product area: the summary the
# customer reads, then the internal detail only agents see. Areas not listed use STREAMING's
# (alerts are about streaming too).
ROOT_CAUSES = {
    Ticket.ProductArea.STREAMING: (
        (
            "A configuration change on one of our edge locations made it drop video segments "
            "under load, so players kept rebuffering. We rolled the change back and added a "
            "load test for it.",
            "edge-ber-3 received cache config v412 with segment TTL 0; the canary check only "
            "covers HLS manifests, not segments. Rolled back to v411; CHG-2291 adds a segment "
            "probe to the canary.",
        ),
        (
            "A restart of the packager lost the playlist state for running streams, so players "
            "asked for segments that no longer existed. Playlists now survive a restart.",
            "packager-2 restarted by the OOM killer (memory leak in the DASH muxer, fixed in "
            "1.18.4); playlist state was in process memory only. Moved to Redis.",
        ),
        (
            "Our ingest servers closed connections above 8 Mbps after a limit was set too low "
            "during maintenance. The limit is back to 20 Mbps.",
            "rtmp-ingest max_bitrate set to 8000 in the 14 Feb maintenance run book (typo for "
            "80000). Config is now validated against the plan limits.",
        ),
    ),
    Ticket.ProductArea.VOICE: (
        (
            "The Android Voice SDK kept the microphone muted after an audio focus change, so "
            "callers could not be heard. Version 4.12.2 fixes it.",
            "AudioFocusRequest listener not re-registered after AUDIOFOCUS_LOSS_TRANSIENT on "
            "Android 15; regression from SDK 4.12.0 (PR 8812). Hotfix 4.12.2 released.",
        ),
        (
            "Calls bridged to the phone network echoed because echo cancellation was switched "
            "off on one of our media servers. It is switched on again on every server.",
            "media-sg-7 deployed with AEC disabled (feature flag default flipped in build 2026.02"
            ".3). Flag pinned in the base image; alert added on the AEC-off metric.",
        ),
        (
            "The iOS Voice SDK crashed when a call moved to a Bluetooth headset because of an "
            "unhandled audio route change. Version 4.12.3 handles it.",
            "AVAudioSession routeChangeNotification handled on a background queue; race with "
            "the capture unit teardown (crash in AURemoteIO). Fixed by serialising on the audio "
            "queue.",
        ),
    ),
}
ROOT_CAUSES[Ticket.ProductArea.VIDEO] = ROOT_CAUSES[Ticket.ProductArea.STREAMING]


# How the demo's tickets are spread over outcomes and channels.
SCENARIOS = ("new", "open", "pending", "resolved", "closed")
SCENARIO_WEIGHTS = (3, 5, 2, 6, 6)
CHANNELS = tuple(Ticket.Channel.values)
CHANNEL_WEIGHTS = (6, 4, 2, 2, 1)
