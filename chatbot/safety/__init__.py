"""Safety above every flow: the risk engine and the urgent-help answer.

`assess(text, recent, role)` gives every message a level (urgent, check, none)
and categories (chatbot/safety/engine.py); `urgent_reply(...)` words the routes
for that level, category, person and nation (chatbot/safety/routes.py).
"""

from .engine import Assessment, assess, load_engine
from .memory import RecentSignals

assess_risk = assess  # the name the channels' guard and older callers use

__all__ = ["Assessment", "RecentSignals", "assess", "assess_risk", "load_engine"]
