"""FHIR R4 interoperability: mapping between our rows and FHIR R4 resources, import and export.

R4 resources come from `fhir.resources.R4B` (the package's default modules are R5). See
docs/fhir.md for what maps where.
"""
