"""MPI permissions and the decision rules kept as data (docs/modules/mpi.md "Tuning").

Stewards' permission lives here rather than in ``accounts.permissions.CorePerm`` while the
MPI is new; it is granted at import, and every MPI entry point imports this module.
"""

from __future__ import annotations

from enum import StrEnum

from phis.core.accounts.permissions import Role, grant


class MpiPerm(StrEnum):
    REVIEW_MATCHES = "people.review_match"   # work the queue, merge and unmerge
    INTAKE_PERSONS = "people.intake_person"  # send source records to the MPI


grant(Role.DATA_STEWARD, MpiPerm.REVIEW_MATCHES, MpiPerm.INTAKE_PERSONS)
for _role in (Role.HOSPITAL_CLERK, Role.CLINICIAN, Role.TOWNSHIP_HEALTH_CENTRE,
              Role.COUNTY_CDC_REVIEWER, Role.CITY_CDC, Role.SCHOOL_DOCTOR, Role.BLOOD_STAFF,
              Role.DISPATCHER_120):
    grant(_role, MpiPerm.INTAKE_PERSONS)

# Automatic links need, besides a probability above the match threshold, agreement (the two
# strongest levels of the comparator) on at least this many of the evidence fields: without
# term-frequency adjustment, name + birth date alone ("张伟", 1980-01-01) is not enough in a
# city of two million, so such pairs go to a steward.
EVIDENCE_FIELDS = ("name", "birth_date", "id_number", "phone", "address")
AUTO_LINK_MIN_AGREEING_FIELDS = 3
# Review tasks opened per uncertain record (the best candidates above the possible threshold).
MAX_REVIEWS_PER_RECORD = 3
# Shortest steward reason accepted for reject, merge and unmerge.
MIN_REASON_LENGTH = 2
