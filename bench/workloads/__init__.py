"""The three workloads, each as vardkedja, PostGraphile and plain-SQL requests for the same data.

Every read workload also says how to bring each system's answer to one canonical form (plain
ids, ISO times in UTC, lists in order), so bench.equivalence can prove that the three systems
return the same data before anything is timed.

- emergency: the shipped EmergencyOverview operation for one patient.
- population: 50 patients with their last 5 care contacts and last 5 diagnoses.
- record_contact: record one care contact (a write).
"""

from __future__ import annotations

from bench.workloads.base import Workload
from bench.workloads.emergency import Emergency
from bench.workloads.population import Population
from bench.workloads.record_contact import RecordContact
from bench.workloads.situations import (
    DentalVisit,
    DischargeHandover,
    HomeCareVisit,
    MyRecord,
    PatientOverview,
    PharmacyDispensing,
)

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Emergency(),
        Population(),
        DentalVisit(),
        PharmacyDispensing(),
        HomeCareVisit(),
        DischargeHandover(),
        MyRecord(),
        PatientOverview(),
        RecordContact(),
    )
}

__all__ = ["WORKLOADS", "Workload"]
