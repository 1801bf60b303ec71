"""What the benchmarks share: where the library is, and the shape of their events
(~180-byte analytics events: skewed types, a few apps and plans, heavy users)."""
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LIB = os.path.join(ROOT, ".build", "release", "libShardExt")

YEAR = 2024

# ~20 event types, skewed: the first is ~28% of all events, the last ~0.4%.
TYPES = [
    ("page_view", 28), ("click", 16), ("scroll", 10), ("search", 8), ("view_item", 6),
    ("add_to_cart", 5), ("login", 4), ("logout", 3.5), ("video_play", 3), ("like", 2.5),
    ("share", 2.2), ("comment", 2), ("video_pause", 1.8), ("signup", 1.5), ("download", 1.3),
    ("checkout", 1.2), ("purchase", 1.0), ("refund", 0.8), ("invite", 0.6), ("delete_account", 0.4),
]
APPS = [("web", 55), ("ios", 25), ("android", 17), ("api", 3)]
PLANS = [("free", 70), ("pro", 25), ("team", 5)]
COUNTRIES = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "CA", "NL", "SE", "ES", "IT", "PL", "AU", "MX"]
SECTIONS = ["home", "electronics", "books", "garden", "toys", "fashion", "sports", "music", "help", "account"]
USERS = 50_000
HEAVY_USERS = 500  # users 1..500 produce 20% of the events
