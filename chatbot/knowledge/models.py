"""Database tables for the knowledge base (Open Referral UK shaped).

Each row keeps the validated entry as a JSON `document` beside the columns that
queries need, so the in-memory catalogue is rebuilt with the same parser that
validated the YAML: one definition of what an entry is.
"""

from __future__ import annotations

import sqlalchemy as sa

from chatbot.db import Base


class OrganizationRow(Base):
    __tablename__ = "kb_organizations"
    id = sa.Column(sa.String(100), primary_key=True)
    name = sa.Column(sa.String(300), nullable=False)
    document = sa.Column(sa.JSON, nullable=False)


class AreaRow(Base):
    __tablename__ = "kb_areas"
    id = sa.Column(sa.String(100), primary_key=True)
    name = sa.Column(sa.String(300), nullable=False)
    kind = sa.Column(sa.String(40), nullable=False)
    document = sa.Column(sa.JSON, nullable=False)


class AreaTermRow(Base):
    """Every name, alias, town and postcode district that resolves to an area."""

    __tablename__ = "kb_area_terms"
    term = sa.Column(sa.String(200), primary_key=True)
    area_id = sa.Column(sa.String(100), sa.ForeignKey("kb_areas.id", ondelete="CASCADE"), primary_key=True)
    kind = sa.Column(sa.String(30), nullable=False)


class GpSurgeryRow(Base):
    __tablename__ = "kb_gp_surgeries"
    id = sa.Column(sa.String(100), primary_key=True)
    name = sa.Column(sa.String(300), nullable=False)
    area_id = sa.Column(sa.String(100), sa.ForeignKey("kb_areas.id"), nullable=False)
    document = sa.Column(sa.JSON, nullable=False)


class ServiceRow(Base):
    __tablename__ = "kb_services"
    id = sa.Column(sa.String(100), primary_key=True)
    name = sa.Column(sa.String(300), nullable=False)
    status = sa.Column(sa.String(20), nullable=False, index=True)
    organization_id = sa.Column(sa.String(100), sa.ForeignKey("kb_organizations.id"), nullable=False)
    last_verified = sa.Column(sa.Date, nullable=False)
    document = sa.Column(sa.JSON, nullable=False)


class ServiceAreaRow(Base):
    __tablename__ = "kb_service_areas"
    service_id = sa.Column(
        sa.String(100), sa.ForeignKey("kb_services.id", ondelete="CASCADE"), primary_key=True
    )
    area_id = sa.Column(sa.String(100), sa.ForeignKey("kb_areas.id"), primary_key=True, index=True)


class AnswerRow(Base):
    __tablename__ = "kb_answers"
    id = sa.Column(sa.String(100), primary_key=True)
    topic = sa.Column(sa.String(100), nullable=False)
    last_reviewed = sa.Column(sa.Date, nullable=False)
    review_by = sa.Column(sa.Date, nullable=False)
    document = sa.Column(sa.JSON, nullable=False)


class KnowledgeLoadRow(Base):
    """One row per successful load: what was loaded, and when."""

    __tablename__ = "kb_loads"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    loaded_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    checksum = sa.Column(sa.String(64), nullable=False)
    services = sa.Column(sa.Integer, nullable=False)
