"""Safety above every flow: risk detection and the urgent-help answer."""

from .risk import RiskAssessment, assess_risk

__all__ = ["RiskAssessment", "assess_risk"]
