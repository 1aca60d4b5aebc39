"""Triage: which services fit a person, and why. Pure functions over the catalogue."""

from .catalogue import AreaMatch, Catalogue
from .profile import Profile
from .recommend import Match, Recommendation, recommend

__all__ = ["AreaMatch", "Catalogue", "Match", "Profile", "Recommendation", "recommend"]
