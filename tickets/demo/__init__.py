"""The demo: its world as data (`world`) and the seeding that builds it (`seeding`)."""
