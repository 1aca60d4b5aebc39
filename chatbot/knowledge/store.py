"""Save validated Knowledge to the database, and read it back."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .loader import Knowledge, knowledge_from_documents
from .models import (
    AnswerRow,
    AreaRow,
    AreaTermRow,
    GpSurgeryRow,
    KnowledgeLoadRow,
    OrganizationRow,
    ServiceAreaRow,
    ServiceRow,
)


def save_knowledge(session: Session, knowledge: Knowledge) -> dict[str, int]:
    """Upsert every entry and remove entries no longer in the files.

    Runs inside the caller's transaction: if anything fails, nothing changes.
    Returns counts of what the database now holds.
    """
    docs = knowledge.documents
    # Children first, so foreign keys never point at a row about to go.
    for table in (ServiceAreaRow, AreaTermRow):
        session.execute(sa.delete(table))
    for org in knowledge.organizations:
        session.merge(OrganizationRow(id=org.id, name=org.name, document=docs["organizations"][org.id]))
    for area in knowledge.areas:
        session.merge(AreaRow(id=area.id, name=area.name, kind=area.kind, document=docs["areas"][area.id]))
    session.flush()
    for area in knowledge.areas:
        for term, kind in _area_terms(area):
            session.merge(AreaTermRow(term=term, area_id=area.id, kind=kind))
    for gp in knowledge.gp_surgeries:
        session.merge(
            GpSurgeryRow(id=gp.id, name=gp.name, area_id=gp.area, document=docs["gp_surgeries"][gp.id])
        )
    for s in knowledge.services:
        session.merge(
            ServiceRow(
                id=s.id,
                name=s.name,
                status=s.status,
                organization_id=s.organization,
                last_verified=s.last_verified,
                document=docs["services"][s.id],
            )
        )
    session.flush()
    for s in knowledge.services:
        for area_id in s.eligibility.areas:
            session.add(ServiceAreaRow(service_id=s.id, area_id=area_id))
    for a in knowledge.answers:
        session.merge(
            AnswerRow(
                id=a.id,
                topic=a.topic,
                last_reviewed=a.last_reviewed,
                review_by=a.review_by,
                document=docs["answers"][a.id],
            )
        )
    # Entries removed from the files leave the database too.
    for row_type, entries in (
        (AnswerRow, knowledge.answers),
        (ServiceRow, knowledge.services),
        (GpSurgeryRow, knowledge.gp_surgeries),
        (AreaRow, knowledge.areas),
        (OrganizationRow, knowledge.organizations),
    ):
        keep = [e.id for e in entries]
        session.execute(sa.delete(row_type).where(row_type.id.not_in(keep)))
    session.add(
        KnowledgeLoadRow(
            loaded_at=dt.datetime.now(dt.timezone.utc),
            checksum=knowledge.checksum,
            services=len(knowledge.services),
        )
    )
    session.flush()
    return {
        "organizations": len(knowledge.organizations),
        "areas": len(knowledge.areas),
        "gp_surgeries": len(knowledge.gp_surgeries),
        "services": len(knowledge.services),
        "answers": len(knowledge.answers),
    }


def _area_terms(area) -> set[tuple[str, str]]:  # noqa: ANN001
    terms = {(area.name.lower(), "name"), (area.id.replace("-", " "), "name")}
    terms |= {(a.lower(), "alias") for a in area.aliases}
    terms |= {(t.lower(), "town") for t in area.towns}
    terms |= {(d, "postcode") for d in area.postcode_districts}
    terms |= {(d, "partial_postcode") for d in area.partial_postcode_districts}
    return terms


def read_knowledge_from_db(session: Session) -> Knowledge | None:
    """The knowledge last loaded, or None if nothing has been loaded yet."""
    last = session.execute(
        sa.select(KnowledgeLoadRow).order_by(KnowledgeLoadRow.id.desc()).limit(1)
    ).scalar_one_or_none()
    if last is None:
        return None
    documents = {}
    for key, row_type in (
        ("areas", AreaRow),
        ("gp_surgeries", GpSurgeryRow),
        ("organizations", OrganizationRow),
        ("services", ServiceRow),
        ("answers", AnswerRow),
    ):
        documents[key] = {row.id: row.document for row in session.execute(sa.select(row_type)).scalars()}
    return knowledge_from_documents(documents, last.checksum)
